import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import t from 'tap';
import { forEachDatabase, startServer } from './helpers/build-app.js';
import { startFileServer } from './helpers/file-server.js';
import { randomContent, temporaryFiles } from './helpers/content.js';
import { multipartBody } from './helpers/multipart.js';
import { postAndDisconnect, postHeadOnly } from './helpers/raw-http.js';
import { assertNothingLeft, storageState } from './helpers/storage-state.js';

const MiB = 1024 * 1024;
const LIMIT = 2 * MiB;
const ENVELOPE = 64 * 1024;

/** `total` bytes sent in 64 KiB chunks, with no Content-Length: chunked transfer. */
function growingBody(total: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const size = Math.min(64 * 1024, total - sent);
      sent += size;
      this.push(randomContent(size));
    },
  });
}

forEachDatabase(t, async (t, kind) => {
  const {
    server,
    client,
    db,
    drives: [alice],
  } = await startFileServer(t, kind, ['alice'], { maxUploadBytes: LIMIT });
  const auth = { authorization: `Bearer ${alice.token}` };

  t.test('a file of exactly the limit is accepted, raw and multipart', async (t) => {
    t.equal((await alice.upload('exact-raw.bin', randomContent(LIMIT))).status, 201);
    t.equal((await alice.uploadForm('exact-form.bin', randomContent(LIMIT))).status, 201);
  });

  t.test('a Content-Length over the limit is refused before the body is sent', async (t) => {
    const before = await storageState(server, db);
    const raw = await postHeadOnly(server.url, '/cloud/my-drive/?filename=huge.bin', {
      ...auth,
      'content-type': 'application/octet-stream',
      'content-length': LIMIT + 1,
    });
    t.equal(raw.status, 413, 'raw: one byte over');
    t.equal(raw.body.code, 'PAYLOAD_TOO_LARGE');
    const multipart = await postHeadOnly(server.url, '/cloud/my-drive/', {
      ...auth,
      'content-type': 'multipart/form-data; boundary=xyz',
      'content-length': LIMIT + ENVELOPE + 1,
    });
    t.equal(multipart.status, 413, 'multipart: over the limit plus the envelope');
    t.equal(multipart.body.code, 'PAYLOAD_TOO_LARGE');
    const huge = await postHeadOnly(server.url, '/cloud/my-drive/?filename=huge.bin', {
      'content-type': 'application/octet-stream',
      'content-length': 5 * 1024 ** 4,
    });
    t.equal(huge.status, 413, 'even before authentication');
    await assertNothingLeft(t, server, db, before, 'a refused Content-Length');
  });

  t.test('a body that grows past the limit is 413 and stores nothing', async (t) => {
    const before = await storageState(server, db);
    const raw = await alice.upload('growing.bin', growingBody(LIMIT + 1));
    t.equal(raw.status, 413, 'raw, chunked, one byte over');
    t.equal(raw.body.code, 'PAYLOAD_TOO_LARGE');
    const rawLonger = await alice.upload('growing.bin', growingBody(4 * LIMIT));
    t.equal(rawLonger.status, 413, 'raw, chunked, far over');
    t.equal(rawLonger.headers.connection, 'close', 'the rest of the body is not awaited: the connection closes');
    const { body, contentType } = multipartBody([
      { name: 'filename', value: 'growing.bin' },
      { name: 'file', filename: 'growing.bin', content: randomContent(LIMIT + 1) },
    ]);
    t.ok(body.length <= LIMIT + ENVELOPE, 'its Content-Length is within the envelope allowance');
    for (const [what, sent] of [
      ['with a Content-Length', body],
      ['chunked', Readable.from([body])],
    ] as const) {
      const reply = await client.call('POST', '/cloud/my-drive/', {
        token: alice.token,
        body: sent,
        headers: { 'content-type': contentType },
      });
      t.equal(reply.status, 413, `multipart ${what}: a file one byte over`);
      t.equal(reply.body.code, 'PAYLOAD_TOO_LARGE');
    }
    await assertNothingLeft(t, server, db, before, 'a body over the limit');
    t.equal((await alice.download('growing.bin')).status, 404);
  });

  t.test('JSON bodies are at most 1 MiB', async (t) => {
    const reply = await client.call('POST', '/cloud/my-drive/', {
      token: alice.token,
      json: { filename: 'x'.repeat(MiB), sha256: '0'.repeat(64), size: 1 },
    });
    t.equal(reply.status, 413);
    t.equal(reply.body.code, 'PAYLOAD_TOO_LARGE');
  });

  t.test('a client that disconnects mid-body leaves nothing behind', async (t) => {
    const before = await storageState(server, db);
    const isReceiving = async () => (await temporaryFiles(server.dataDir)).length > 0;
    const raw = await postAndDisconnect(
      server.url,
      '/cloud/my-drive/?filename=cut.bin',
      { ...auth, 'content-type': 'application/octet-stream', 'content-length': LIMIT },
      randomContent(LIMIT / 2),
      isReceiving,
    );
    t.ok(raw, 'raw: the server was storing the bytes when the client went away');
    await assertNothingLeft(t, server, db, before, 'a raw upload cut short');

    const { body, contentType } = multipartBody([
      { name: 'filename', value: 'cut.bin' },
      { name: 'file', filename: 'cut.bin', content: randomContent(LIMIT) },
    ]);
    const multipart = await postAndDisconnect(
      server.url,
      '/cloud/my-drive/',
      { ...auth, 'content-type': contentType, 'content-length': body.length },
      body.subarray(0, body.length / 2),
      isReceiving,
    );
    t.ok(multipart, 'multipart: the server was storing the bytes when the client went away');
    await assertNothingLeft(t, server, db, before, 'a multipart upload cut short');

    const chunked = await postAndDisconnect(
      server.url,
      '/cloud/my-drive/?filename=cut.bin',
      { ...auth, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' },
      randomContent(MiB),
      isReceiving,
    );
    t.ok(chunked, 'chunked: the server was storing the bytes when the client went away');
    await assertNothingLeft(t, server, db, before, 'a chunked upload cut short');
    t.equal((await alice.download('cut.bin')).status, 404);
    t.equal((await alice.upload('after.bin', randomContent(1000))).status, 201, 'and the server goes on serving');
  });
});

forEachDatabase(t, async (t, kind) => {
  t.test('start-up sweeps the temporary files that a crashed server left', async (t) => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'cloudstore-crashed-'));
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    const exited = spawn(process.execPath, ['-e', '']);
    await once(exited, 'exit');
    const leftover = path.join(dataDir, 'tmp', `${exited.pid}-0123456789abcdef.part`);
    await mkdir(path.dirname(leftover), { recursive: true });
    await writeFile(leftover, randomContent(1000));
    const server = await startServer(t, kind, { dataDir });
    t.same(await temporaryFiles(server.dataDir), []);
  });
});
