import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * The simplest load balancer: a TCP relay on loopback that sends each new connection to the next
 * of `targets` in turn (curl opens one connection per transfer, so transfers alternate). It reads
 * nothing, so it costs what any L4 balancer costs: one more hop.
 */
export interface RoundRobinProxy {
  url: string;
  /** Connections sent to each target, in the order of `targets`. */
  connections(): number[];
  close(): Promise<void>;
}

export async function startRoundRobinProxy(targets: string[]): Promise<RoundRobinProxy> {
  const upstreams = targets.map((target) => new URL(target));
  const counts = upstreams.map(() => 0);
  let next = 0;
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const index = next;
    next = (next + 1) % upstreams.length;
    counts[index]++;
    const upstream = connect(Number(upstreams[index].port), upstreams[index].hostname);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('error', end);
      socket.on('close', () => {
        open.delete(socket);
        end();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => [...counts],
    // Kept-alive connections (fetch's) would hold the close until they time out.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}
