import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';

/** A TCP proxy on loopback that counts the bytes clients send through it (request heads and bodies). */
export class CountingProxy {
  bytesFromClients = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: net.Server,
    readonly url: string,
  ) {}

  static async start(t: Test, target: string): Promise<CountingProxy> {
    const { hostname, port } = new URL(target);
    const counted = { proxy: undefined as CountingProxy | undefined };
    const server = net.createServer((client) => {
      const proxy = counted.proxy;
      const upstream = net.connect(Number(port), hostname);
      for (const socket of [client, upstream]) {
        proxy!.sockets.add(socket);
        socket.once('close', () => proxy!.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk: Buffer) => (proxy!.bytesFromClients += chunk.length));
      client.pipe(upstream);
      upstream.pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new CountingProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    counted.proxy = proxy;
    t.teardown(() => proxy.close());
    return proxy;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
