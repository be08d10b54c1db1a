import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Test } from 'tap';

/** A request as the proxy saw it. */
export interface ProxiedRequest {
  method: string;
  url: string;
  bodyBytes: number;
}

/**
 * An HTTP proxy on loopback in front of an S3 endpoint: it counts the body bytes of every
 * request it forwards, can answer in the store's place (a SlowDown), and can be closed and
 * opened again on the same port (an outage and its end).
 */
export class S3Proxy {
  readonly requests: ProxiedRequest[] = [];
  /** When set, answers every request instead of the store. */
  answer: ((response: http.ServerResponse) => void) | null = null;
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  /** No connection to the store outlives its request: the store must be able to close. */
  private readonly agent = new http.Agent({ keepAlive: false });
  private port = 0;

  private constructor(private readonly upstream: URL) {
    this.server = http.createServer((request, response) => this.forward(request, response));
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  static async start(t: Test, upstream: string): Promise<S3Proxy> {
    const proxy = new S3Proxy(new URL(upstream));
    await proxy.open();
    t.teardown(async () => {
      await proxy.close();
      proxy.agent.destroy();
    });
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Body bytes of the requests that write content (PUT: PutObject and UploadPart). */
  bytesPut(): number {
    return this.requests.filter((request) => request.method === 'PUT').reduce((sum, request) => sum + request.bodyBytes, 0);
  }

  async open(): Promise<void> {
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Stops listening and cuts every connection: the store is unreachable. */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = once(this.server, 'close');
    this.server.close();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private forward(request: http.IncomingMessage, response: http.ServerResponse): void {
    const seen: ProxiedRequest = { method: request.method ?? '', url: request.url ?? '', bodyBytes: 0 };
    this.requests.push(seen);
    request.on('data', (chunk: Buffer) => (seen.bodyBytes += chunk.length));
    if (this.answer) {
      request.resume();
      request.once('end', () => this.answer?.(response));
      return;
    }
    const upstream = http.request(
      {
        host: this.upstream.hostname,
        port: this.upstream.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
        agent: this.agent,
      },
      (reply) => {
        response.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(response);
      },
    );
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  }
}

/** S3's answer when it throttles: 503 SlowDown. */
export function slowDown(response: http.ServerResponse): void {
  response.writeHead(503, { 'content-type': 'application/xml' });
  response.end(
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
  );
}
