import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { Test } from 'tap';

/** A request as the proxy saw it. */
export interface ProxiedRequest {
  method: string;
  url: string;
  bodyBytes: number;
}

/**
 * An HTTP proxy on loopback in front of an S3 endpoint: it counts the body bytes of every
 * request it forwards and how many PUTs are in flight at once, can answer in the store's place
 * (a SlowDown), hold requests back until told, and can be closed and opened again on the same
 * port (an outage and its end).
 */
export class S3Proxy {
  readonly requests: ProxiedRequest[] = [];
  /** When set, answers every request instead of the store. */
  answer: ((response: http.ServerResponse) => void) | null = null;
  /** When set, the requests it picks are refused (AccessDenied, which the SDK does not retry), the others forwarded. */
  refuse: ((request: ProxiedRequest) => boolean) | null = null;
  /** When set, the requests it picks wait (their bodies read) until `releaseHeld`. */
  hold: ((request: ProxiedRequest) => boolean) | null = null;
  /** The requests held back right now. */
  readonly held: ProxiedRequest[] = [];
  private readonly heldForwards: (() => void)[] = [];
  private putsInFlight = 0;
  private mostPuts = 0;
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

  /** The most PUTs (PutObject, UploadPart) in flight at once: arrived and not yet answered. */
  get mostPutsAtOnce(): number {
    return this.mostPuts;
  }

  /** Forwards the requests held back, and stops holding. */
  releaseHeld(): void {
    this.hold = null;
    this.held.length = 0;
    for (const forward of this.heldForwards.splice(0)) forward();
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
    if (seen.method === 'PUT') {
      this.mostPuts = Math.max(this.mostPuts, ++this.putsInFlight);
      response.once('close', () => this.putsInFlight--);
    }
    if (this.hold?.(seen)) {
      // The body is read now and sent on once released: the sender sees its part go out.
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      const body = once(request, 'end').then(() => Buffer.concat(chunks));
      this.held.push(seen);
      this.heldForwards.push(() => void body.then((bytes) => this.send(request, bytes, response)));
      return;
    }
    const answer = this.refuse?.(seen) ? accessDenied : this.answer;
    if (answer) {
      request.resume();
      request.once('end', () => answer(response));
      return;
    }
    this.send(request, request, response);
  }

  /** Sends `request` on to the store with `body` (the request itself, or its body read before). */
  private send(request: http.IncomingMessage, body: Readable | Buffer, response: http.ServerResponse): void {
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
    if (Buffer.isBuffer(body)) upstream.end(body);
    else body.pipe(upstream);
  }
}

/** S3's answer when it throttles: 503 SlowDown. */
export function slowDown(response: http.ServerResponse): void {
  response.writeHead(503, { 'content-type': 'application/xml' });
  response.end(
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
  );
}

/** S3's answer to a request it refuses: 403 AccessDenied. */
export function accessDenied(response: http.ServerResponse): void {
  response.writeHead(403, { 'content-type': 'application/xml' });
  response.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>');
}
