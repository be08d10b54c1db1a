import { connect, createServer, type AddressInfo } from 'node:net';

/**
 * A TCP relay in front of our server that counts what the client sends: how the harness checks
 * that a duplicate `cloudstore put` sent under 128 KiB, whatever the CLI does inside.
 */
export interface ByteCountingProxy {
  url: string;
  /** Bytes from clients to the server since the proxy started, headers included. */
  bytesSent(): number;
  close(): Promise<void>;
}

export async function startByteCountingProxy(targetUrl: string): Promise<ByteCountingProxy> {
  const target = new URL(targetUrl);
  let sent = 0;
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bytesSent: () => sent,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}
