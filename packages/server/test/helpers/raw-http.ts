import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { eventually } from './waiting.js';

export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

export function start(url: string, path: string, headers: Record<string, string | number>): http.ClientRequest {
  const request = http.request(url + path, { method: 'POST', headers, agent: false });
  request.on('error', () => {});
  return request;
}

export async function replyOf(response: http.IncomingMessage): Promise<RawReply> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return { status: response.statusCode ?? 0, headers: response.headers, body: text.startsWith('{') ? JSON.parse(text) : text };
}

/**
 * Sends only the head of a POST whose `Content-Length` announces a body, and waits for the
 * answer without sending a byte of that body: what a server that refuses "before the body is
 * read" must answer.
 */
export async function postHeadOnly(url: string, path: string, headers: Record<string, string | number>): Promise<RawReply> {
  const request = start(url, path, headers);
  request.flushHeaders();
  const [response] = (await Promise.race([
    once(request, 'response'),
    new Promise((_, reject) => setTimeout(() => reject(new Error('no answer before the body was sent')), 5000)),
  ])) as [http.IncomingMessage];
  try {
    return await replyOf(response);
  } finally {
    request.destroy();
  }
}

/**
 * Starts a POST of `totalBytes`, sends `prefix`, waits until `isReceiving()` says the server
 * is storing it, then destroys the socket: a client that dies mid-body.
 */
export async function postAndDisconnect(
  url: string,
  path: string,
  headers: Record<string, string | number>,
  prefix: Buffer,
  isReceiving: () => Promise<boolean>,
): Promise<boolean> {
  const request = start(url, path, headers);
  request.write(prefix);
  const received = await eventually(isReceiving);
  const closed = new Promise((resolve) => request.once('close', resolve));
  request.destroy();
  await closed;
  return received;
}

export interface SlowSend {
  /** How long the server let the connection live, from the first byte sent. */
  closedAfterMs: number;
  /** What the server sent back before closing, if anything. */
  received: string;
  /** Bytes the client had sent when the server closed. */
  sent: number;
}

/**
 * Opens a connection to `url`, sends `head` at once, then `bytes`, `bytesPerTick` every
 * `intervalMs`, until the server closes the connection or `giveUpMs` pass (then rejects).
 */
export function sendSlowly(
  url: string,
  head: Buffer,
  bytes: Buffer,
  options: { bytesPerTick: number; intervalMs: number; giveUpMs: number },
): Promise<SlowSend> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const started = Date.now();
    let sent = 0;
    let received = '';
    const send = () => {
      if (sent >= bytes.length || socket.destroyed) return;
      const piece = bytes.subarray(sent, sent + options.bytesPerTick);
      sent += piece.length;
      socket.write(piece);
    };
    const ticker = setInterval(send, options.intervalMs);
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server still held the connection after ${options.giveUpMs} ms`));
    }, options.giveUpMs);
    socket.on('connect', () => socket.write(head));
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(ticker);
      clearTimeout(giveUp);
      resolve({ closedAfterMs: Date.now() - started, received, sent });
    });
  });
}

/** Sends `request` as it is (bytes on a fresh connection) and returns all the server answers before closing. */
export function exchangeRaw(url: string, request: string | Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(request));
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => resolve(received));
    socket.setTimeout(10_000, () => socket.destroy());
  });
}

/** The status and JSON body of a raw HTTP/1.1 response. */
export function parseRawResponse(response: string): { status: number; headers: string; body: any } {
  const [head, ...rest] = response.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  const text = rest.join('\r\n\r\n');
  return { status, headers: head, body: text.startsWith('{') ? JSON.parse(text) : text };
}

/** A raw upload of `content` that sends its first `sent` bytes and waits; `finish()` sends the rest. */
export function heldUpload(url: string, token: string, filename: string, content: Buffer, sent: number) {
  const request = start(url, `/cloud/my-drive/?filename=${filename}`, {
    authorization: `Bearer ${token}`,
    'content-type': 'application/octet-stream',
    'content-length': content.length,
  });
  const replied = once(request, 'response').then(([response]) => replyOf(response as http.IncomingMessage));
  replied.catch(() => {});
  request.write(content.subarray(0, sent));
  return {
    request,
    /** The answer, when one comes (a refusal comes before the rest is sent). */
    replied,
    finish: (): Promise<RawReply> => {
      request.end(content.subarray(sent));
      return replied;
    },
  };
}
