import { maxHeaderSize } from 'node:http';
import type { Socket } from 'node:net';
import { AppError, validationFailed } from '../errors.js';
import type { RequestDeadlines } from './request-deadlines.js';

/**
 * Answers what Node's HTTP parser refuses before any route runs, in API.md's error shape
 * (Fastify's default answers without a `code`), and applies the request deadlines: a request
 * past Node's `headersTimeout`/`requestTimeout` is cut off, unless it is an upload's body,
 * which only the idle deadline governs.
 */
export function clientErrorHandler(deadlines: RequestDeadlines) {
  return (error: NodeJS.ErrnoException, socket: Socket): void => {
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      if (!deadlines.isReceivingUpload(socket)) socket.destroy();
      return;
    }
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const refusal =
      error.code === 'HPE_HEADER_OVERFLOW'
        ? new AppError('HEADERS_TOO_LARGE', `the request line and headers are larger than ${maxHeaderSize} bytes`)
        : validationFailed('the request is not well-formed HTTP/1.1');
    if (socket.writable) {
      const body = JSON.stringify(refusal.body());
      socket.write(
        `HTTP/1.1 ${refusal.statusCode} ${refusal.body().error}\r\n` +
          `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}
