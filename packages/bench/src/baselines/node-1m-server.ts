import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat, unlink } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';

/**
 * `node-1m`: the simplest Node server that does what our upload must do, as issue 10 defines
 * it: bare node:http with 1 MiB buffers both ways (the request's highWaterMark, coalesced 1 MiB
 * writes), PUT hashed inline with SHA-256 on the main thread (unless NODE_1M_HASH=0), renamed
 * into place, and no fsync: it answers once its bytes are in the page cache. GET streamed with
 * 1 MiB reads. Plus GET /hello, the hello JSON that small requests are compared with. It is the
 * yardstick of issue 10's targets, so it stays as plain as a careful engineer would write it in
 * an afternoon.
 *
 * Run as its own process: `node node-1m-server.js` with STORE_DIR and NODE_1M_HASH.
 */

const CHUNK_BYTES = 1024 * 1024;
const storeDirectory = process.env.STORE_DIR ?? process.cwd();
const isHashing = process.env.NODE_1M_HASH !== '0';

async function receive(request: IncomingMessage, target: string): Promise<{ sha256: string | null; size: number }> {
  const temporary = path.join(storeDirectory, `.${randomBytes(8).toString('hex')}.part`);
  const handle = await open(temporary, 'wx');
  const hash = isHashing ? createHash('sha256') : null;
  let size = 0;
  try {
    let buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let filled = 0;
    for await (const chunk of request as AsyncIterable<Buffer>) {
      size += chunk.length;
      hash?.update(chunk);
      for (let offset = 0; offset < chunk.length;) {
        const copied = chunk.copy(buffer, filled, offset);
        filled += copied;
        offset += copied;
        if (filled === CHUNK_BYTES) {
          await handle.write(buffer, 0, filled);
          // A fresh buffer: the write above may still be reading the old one.
          buffer = Buffer.allocUnsafe(CHUNK_BYTES);
          filled = 0;
        }
      }
    }
    if (filled > 0) await handle.write(buffer, 0, filled);
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temporary, target);
  return { sha256: hash ? hash.digest('hex') : null, size };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

const server = createServer({ highWaterMark: CHUNK_BYTES }, (request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (url.pathname === '/hello') return json(response, 200, { hello: 'world' });
  const name = decodeURIComponent(url.pathname.replace(/^\/files\//, ''));
  if (!url.pathname.startsWith('/files/') || name === '' || name.includes('/') || name.startsWith('.')) {
    return json(response, 404, { error: 'not found' });
  }
  const target = path.join(storeDirectory, name);
  const fail = (error: unknown) => {
    if (!response.headersSent) json(response, 500, { error: (error as Error).message });
    else response.destroy();
  };
  if (request.method === 'PUT') {
    receive(request, target).then((result) => json(response, 201, result), fail);
  } else if (request.method === 'GET') {
    stat(target).then(
      (info) => {
        response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': info.size });
        createReadStream(target, { highWaterMark: CHUNK_BYTES }).on('error', fail).pipe(response);
      },
      () => json(response, 404, { error: 'not found' }),
    );
  } else if (request.method === 'DELETE') {
    unlink(target).then(
      () => json(response, 200, { deleted: true }),
      () => json(response, 404, { error: 'not found' }),
    );
  } else {
    json(response, 405, { error: 'method not allowed' });
  }
});

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`Server listening at http://127.0.0.1:${address.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
