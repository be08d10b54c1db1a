import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Test } from 'tap';

/** Headers of one connection, not of the request: each hop sets its own. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer'];

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.includes(name)));
}

/**
 * A load balancer on loopback that sends each request to the next upstream in turn, whatever
 * connection it came on (a keep-alive client is never pinned to one instance), bodies streamed
 * both ways. `served` records which upstream (its index) took each request, in order.
 */
export class RoundRobin {
  readonly served: number[] = [];
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly agent = new http.Agent({ keepAlive: true });
  private next = 0;

  private constructor(private readonly upstreams: URL[]) {
    this.server = http.createServer((request, response) => this.forward(request, response));
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** Listens on a loopback port in front of `upstreams` (base URLs); closed when `t` ends. */
  static async start(t: Test, upstreams: string[]): Promise<RoundRobin> {
    const balancer = new RoundRobin(upstreams.map((upstream) => new URL(upstream)));
    balancer.server.listen(0, '127.0.0.1');
    await once(balancer.server, 'listening');
    t.teardown(async () => {
      const closed = once(balancer.server, 'close');
      balancer.server.close();
      for (const socket of balancer.sockets) socket.destroy();
      balancer.agent.destroy();
      await closed;
    });
    return balancer;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** How many requests each upstream took since `from` (an index into `served`). */
  counts(from = 0): number[] {
    const counts = this.upstreams.map(() => 0);
    for (const index of this.served.slice(from)) counts[index]++;
    return counts;
  }

  private forward(request: http.IncomingMessage, response: http.ServerResponse): void {
    const index = this.next++ % this.upstreams.length;
    this.served.push(index);
    const target = this.upstreams[index];
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        headers: endToEnd(request.headers),
        agent: this.agent,
      },
      (reply) => {
        response.writeHead(reply.statusCode ?? 502, endToEnd(reply.headers));
        reply.pipe(response);
        reply.once('aborted', () => response.destroy());
      },
    );
    upstream.once('error', () => {
      if (response.headersSent) response.destroy();
      else response.writeHead(502, { 'content-type': 'text/plain' }).end('upstream failed');
    });
    request.pipe(upstream);
    // A client that goes away mid-request takes the upstream request with it, as a real balancer does.
    request.once('close', () => {
      if (!request.complete) upstream.destroy();
    });
    response.once('close', () => {
      if (!response.writableFinished) upstream.destroy();
    });
  }
}
