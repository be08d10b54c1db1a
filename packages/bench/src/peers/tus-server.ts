import { createServer } from 'node:http';
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';

/**
 * Peer: tus-node-server (@tus/server with @tus/file-store), as its README sets it up, on
 * node:http. Uploads by creation-with-upload (one POST carrying the bytes), downloads by GET.
 * Run as its own process with STORE_DIR.
 *
 * Pinned to the 1.x line: 2.4.5, the newest (engines >=20.19), dies on the second or third GET
 * of a file under Node 20.20 (ERR_INVALID_STATE "ReadableStream is already closed" from its
 * web-stream bridge), which would take the peer out of every later row.
 */

const tus = new Server({
  path: '/files',
  datastore: new FileStore({ directory: process.env.STORE_DIR ?? process.cwd() }),
  // The harness names each upload (Upload-Metadata filename), so that it knows where to GET it.
  namingFunction: (_request, metadata) => metadata?.filename ?? crypto.randomUUID(),
});
const server = createServer((request, response) => {
  void tus.handle(request, response);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`Server listening at http://127.0.0.1:${address.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
