import { once } from 'node:events';
import http from 'node:http';
import { eventually } from './waiting.js';

export interface RawReply {
  status: number;

  body: any;
}

function start(url: string, path: string, headers: Record<string, string | number>): http.ClientRequest {
  const request = http.request(url + path, { method: 'POST', headers, agent: false });
  request.on('error', () => {});
  return request;
}

async function replyOf(response: http.IncomingMessage): Promise<RawReply> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return { status: response.statusCode ?? 0, body: text.startsWith('{') ? JSON.parse(text) : text };
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
