import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { inPlaceGet, type InPlaceResponse } from '../src/api/in-place-get.js';
import { CliUser } from './helpers/cli.js';

/**
 * The download's own HTTP/1.1 reading (in-place-get.ts), against servers that send exactly the
 * bytes each test scripts: heads and bodies cut at awkward places, chunked bodies, interim
 * answers, cuts and malformed answers. The real server is covered by get.test.ts and
 * resume-get.test.ts; TLS by a CLI run against an HTTPS server.
 */

type Script = (socket: Socket) => Promise<void>;

/** A server that answers every connection, once its request head is in, with `script`. */
async function scripted(t: { teardown(fn: () => unknown): void }, script: Script): Promise<URL> {
  const requests: string[] = [];
  const server = createServer((socket) => {
    let received = '';
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (!received.includes('\r\n\r\n') || requests.length > 0) return;
      requests.push(received);
      void script(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise((resolve) => server.close(resolve)));
  const address = server.address();
  return new URL(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/cloud/my-drive/?filename=a`);
}

/** Writes `pieces` one by one, each on its way before the next (so that they arrive in separate reads, mostly). */
async function sendApart(socket: Socket, pieces: (string | Buffer)[]): Promise<void> {
  socket.setNoDelay(true);
  for (const piece of pieces) {
    await new Promise<void>((resolve) => socket.write(piece, () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Drains the body into one buffer; a sink that returns a promise (a slow disk) when `slow`. */
async function bodyOf(response: InPlaceResponse, slow = false): Promise<Buffer> {
  const pieces: Buffer[] = [];
  await response.drain((piece) => {
    const copy = Buffer.from(piece);
    if (!slow) return void pieces.push(copy);
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        // Still the bytes it was given: the next read waited for this promise.
        if (!copy.equals(piece)) throw new Error('the piece was overwritten while the sink held it');
        pieces.push(copy);
        resolve();
      }),
    );
  });
  return Buffer.concat(pieces);
}

const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`;

t.test(
  'a head and a body with Content-Length, both cut across reads: the bytes as sent, reading paused while a piece is held',
  async (t) => {
    const body = randomBytes(3 * 1024 * 1024 + 11);
    const url = await scripted(t, async (socket) => {
      const text = head(['HTTP/1.1 200 OK', 'Content-Type: application/octet-stream', `Content-Length: ${body.length}`, 'ETag: "x"']);
      await sendApart(socket, [text.slice(0, 9), text.slice(9, 40), `${text.slice(40)}`, body.subarray(0, 5)]);
      socket.end(body.subarray(5));
    });
    const response = await inPlaceGet(url, { authorization: 'Bearer token' });
    t.equal(response.statusCode, 200);
    t.same(response.headers, { 'content-type': 'application/octet-stream', 'content-length': String(body.length), etag: '"x"' });
    t.ok((await bodyOf(response, true)).equals(body));
  },
);

t.test('a chunked body, with extensions and trailers, framing cut anywhere: only the data comes out', async (t) => {
  const parts = [randomBytes(70_000), randomBytes(1), randomBytes(300_000)];
  const segments = [Buffer.from(head(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked']))];
  for (const [index, part] of parts.entries()) {
    segments.push(Buffer.from(`${part.length.toString(16)}${index === 0 ? ';name=value' : ''}\r\n`), part, Buffer.from('\r\n'));
  }
  segments.push(Buffer.from('0\r\nDigest: none\r\n\r\n'));
  // Every piece of framing (not the data) is cut one byte in and one byte before its end.
  const cuts = new Set<number>();
  let offset = 0;
  for (const [index, segment] of segments.entries()) {
    if (index % 3 !== 2) cuts.add(offset + 1).add(offset + segment.length - 1);
    offset += segment.length;
  }
  const framed = Buffer.concat(segments);
  const points = [0, ...[...cuts].sort((a, b) => a - b), framed.length];
  const url = await scripted(t, (socket) =>
    sendApart(
      socket,
      points.slice(1).map((cut, index) => framed.subarray(points[index], cut)),
    ),
  );
  const response = await inPlaceGet(url, {});
  t.ok((await bodyOf(response)).equals(Buffer.concat(parts)));
});

t.test('an interim 103 answer is skipped; a body without length ends with the connection', async (t) => {
  const body = randomBytes(200_000);
  const url = await scripted(t, async (socket) => {
    await sendApart(socket, [
      head(['HTTP/1.1 103 Early Hints', 'Link: </a>; rel=preload']),
      head(['HTTP/1.1 206 Partial Content']),
      body.subarray(0, 100),
    ]);
    socket.end(body.subarray(100));
  });
  const response = await inPlaceGet(url, {});
  t.equal(response.statusCode, 206);
  t.ok((await bodyOf(response)).equals(body));
});

t.test('a body cut short: the bytes received are all taken, then the download fails as a network failure', async (t) => {
  const url = await scripted(t, async (socket) => {
    await sendApart(socket, [head(['HTTP/1.1 200 OK', 'Content-Length: 1000']), Buffer.alloc(600, 1)]);
    socket.destroy();
  });
  const response = await inPlaceGet(url, {});
  let taken = 0;
  await t.rejects(
    response.drain((piece) => void (taken += piece.length)),
    { code: 'RESPONSE_CUT_SHORT' },
  );
  t.equal(taken, 600);
});

t.test('answers that are not valid HTTP/1.1 are refused, not guessed at', async (t) => {
  const cases: [string, string | Buffer][] = [
    ['a head over 16 KiB', head(['HTTP/1.1 200 OK', `X-Filler: ${'a'.repeat(17 * 1024)}`])],
    ['two different Content-Length', head(['HTTP/1.1 200 OK', 'Content-Length: 5', 'Content-Length: 6'])],
    ['a folded header line', head(['HTTP/1.1 200 OK', 'X-A: 1', ' folded', 'Content-Length: 0'])],
    ['a transfer coding it cannot undo', head(['HTTP/1.1 200 OK', 'Transfer-Encoding: gzip, chunked'])],
    ['not HTTP', 'SSH-2.0-OpenSSH_9.2\r\n\r\n'],
  ];
  for (const [what, answer] of cases) {
    const url = await scripted(t, (socket) => sendApart(socket, [answer]));
    await t.rejects(inPlaceGet(url, {}), { code: 'BAD_RESPONSE' }, what);
  }
  const badChunk = await scripted(t, (socket) => sendApart(socket, [head(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked']), 'zz\r\n']));
  const response = await inPlaceGet(badChunk, {});
  await t.rejects(bodyOf(response), { code: 'BAD_RESPONSE' }, 'a chunk size that is not hex');
});

t.test('a sink that throws ends the download with its error; a header value HTTP does not allow is never sent', async (t) => {
  const url = await scripted(t, async (socket) => {
    await sendApart(socket, [head(['HTTP/1.1 200 OK', 'Content-Length: 100000']), Buffer.alloc(100_000)]);
  });
  const response = await inPlaceGet(url, {});
  await t.rejects(
    response.drain(() => {
      throw new Error('disk full');
    }),
    { message: 'disk full' },
  );
  t.throws(() => inPlaceGet(url, { authorization: 'Bearer a\r\nx-injected: 1' }), /authorization header/);
});

t.test('get over HTTPS: TLS read in place too, with the certificate checked', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'cloudstore-tls-'));
  t.teardown(() => rm(directory, { recursive: true, force: true }));
  const key = join(directory, 'key.pem');
  const cert = join(directory, 'cert.pem');
  // A self-signed certificate for localhost, made by openssl (as `pnpm bench` needs it too).
  await promisify(execFile)('openssl', [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'],
    ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', key, '-out', cert],
  ]);
  const content = randomBytes(2 * 1024 * 1024 + 3);
  const digest = createHash('sha256').update(content).digest('base64');
  const server = createHttpsServer({ key: await readFile(key), cert: await readFile(cert) }, (request, reply) => {
    reply.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': content.length,
      'repr-digest': `sha-256=:${digest}:`,
    });
    reply.end(content);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const address = server.address();
  const origin = `https://localhost:${typeof address === 'object' && address ? address.port : 0}`;
  const user = await CliUser.create(t, origin, 'tls');

  const trusted = await user.run(['get', 'film.bin'], { env: { CLOUDSTORE_TOKEN: 'token', NODE_EXTRA_CA_CERTS: cert } });
  t.equal(trusted.code, 0, trusted.stderr);
  t.ok((await readFile(join(user.home, 'film.bin'))).equals(content), 'the whole file, byte for byte');

  const untrusted = await user.run(['get', 'film.bin', '-o', 'again.bin'], { env: { CLOUDSTORE_TOKEN: 'token' } });
  t.equal(untrusted.code, 1);
  t.match(untrusted.stderr, 'self-signed certificate');
});
