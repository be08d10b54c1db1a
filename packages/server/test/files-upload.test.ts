import { Readable } from 'node:stream';
import t from 'tap';
import { forEachDatabase } from './helpers/build-app.js';
import { startFileServer } from './helpers/file-server.js';
import { blobsOnDisk, randomContent, sha256Hex } from './helpers/content.js';
import { reprDigestOf } from './helpers/drive.js';
import { Permits } from './helpers/permits.js';
import { assertNothingLeft, referenceProblems, storageState } from './helpers/storage-state.js';

const MiB = 1024 * 1024;

forEachDatabase(t, async (t, kind) => {
  // Existence privacy discloses to every possessor: `deduplicated` is then true across users.
  const {
    server,
    client,
    db,
    drives: [alice, bob],
  } = await startFileServer(t, kind, ['alice', 'bob'], { dedupThresholdMax: 1 });

  t.test('random 64 MiB content round-trips byte for byte, raw and multipart', async (t) => {
    for (const route of ['raw', 'multipart'] as const) {
      const content = randomContent(64 * MiB);
      const sha256 = sha256Hex(content);
      const filename = `big-${route}.bin`;
      const reply =
        route === 'raw'
          ? await alice.upload(filename, content, { reprDigest: reprDigestOf(content) })
          : await alice.uploadForm(filename, content, { sha256 });
      t.equal(reply.status, 201, route);
      t.same(reply.body, { filename, sha256, size: content.length, deduplicated: false, replaced: false });
      const download = await alice.download(filename);
      t.equal(download.status, 200);
      t.equal(download.raw.length, content.length);
      t.equal(sha256Hex(download.raw), sha256, `${route}: the same bytes come back`);
    }
    t.same(await referenceProblems(server, db), []);
  });

  t.test('the same content from two users is one blob on disk', async (t) => {
    const content = randomContent(300_000);
    const before = (await blobsOnDisk(server.dataDir)).length;
    const first = await alice.upload('shared-song.mp3', content);
    const second = await bob.uploadForm('my-song.mp3', content);
    t.equal(first.body.deduplicated, false);
    t.equal(second.status, 201);
    t.equal(second.body.deduplicated, true, "bob's upload is told it was deduplicated");
    t.equal((await blobsOnDisk(server.dataDir)).length, before + 1, 'one blob more, not two');
    t.equal(sha256Hex((await bob.download('my-song.mp3')).raw), sha256Hex(content));
    t.match((await bob.me()).body, { username: 'bob', files: 1, bytes: content.length, logical_bytes: content.length });
    t.equal((await bob.me()).body.stored_bytes, content.length / 2, 'two owners: half of the one stored copy each');
  });

  t.test('an upload to an existing name replaces its content in place', async (t) => {
    const first = randomContent(5000);
    const second = randomContent(7000);
    t.equal((await alice.upload('notes.txt', first, { contentType: 'text/plain' })).body.replaced, false);
    const filesBefore = (await alice.me()).body.files;
    const replaced = await alice.uploadForm('notes.txt', second);
    t.equal(replaced.status, 201);
    t.same(replaced.body, { filename: 'notes.txt', sha256: sha256Hex(second), size: second.length, deduplicated: false, replaced: true });
    const download = await alice.download('notes.txt');
    t.ok(download.raw.equals(second), 'the new content is served');
    t.equal(download.headers['content-type'], 'application/octet-stream', 'and the new content type');
    t.equal((await alice.me()).body.files, filesBefore, 'still one file');
    t.notOk((await blobsOnDisk(server.dataDir)).includes(sha256Hex(first)), 'the old content, referenced no more, is gone');
    const same = await alice.upload('notes.txt', second);
    t.same([same.body.replaced, same.body.deduplicated], [true, true], 'the same content again');
    t.same(await referenceProblems(server, db), []);
  });

  t.test('a replaced file keeps its friends', async (t) => {
    t.equal((await new Permits(client, alice.token).share('notes.txt', 'bob')).status, 201);
    const newer = randomContent(3000);
    t.equal((await alice.upload('notes.txt', newer)).body.replaced, true);
    const friendView = await bob.download('notes.txt', {}, 'alice');
    t.equal(friendView.status, 200, 'the friend still reads it');
    t.ok(friendView.raw.equals(newer), 'and sees the new content');
    const friends = await new Permits(client, alice.token).friends('notes.txt');
    t.same(
      friends.body.friends.map((friend: { username: string }) => friend.username),
      ['bob'],
      'still listed as a friend',
    );
  });

  t.test('identical uploads at the same time store one blob', async (t) => {
    const content = randomContent(2 * MiB);
    const before = (await blobsOnDisk(server.dataDir)).length;
    const replies = await Promise.all([
      ...Array.from({ length: 4 }, (_, index) => alice.upload(`same-${index}.bin`, content)),
      bob.uploadForm('same.bin', content),
      bob.upload('same-raw.bin', content),
    ]);
    t.same(
      replies.map((reply) => reply.status),
      [201, 201, 201, 201, 201, 201],
    );
    t.equal((await blobsOnDisk(server.dataDir)).length, before + 1);
    const [blob] = await db('blobs').where('sha256', sha256Hex(content));
    t.equal(Number(blob.ref_count), 6, 'one blob row counting six files');
    t.same(await referenceProblems(server, db), []);
  });

  t.test('a digest that does not match the bytes is 422 and stores nothing', async (t) => {
    const content = randomContent(200_000);
    const wrong = sha256Hex(randomContent(10));
    const before = await storageState(server, db);
    const multipart = await alice.uploadForm('mismatch.bin', content, { sha256: wrong });
    t.equal(multipart.status, 422);
    t.equal(multipart.body.code, 'DIGEST_MISMATCH');
    const raw = await alice.upload('mismatch.bin', content, { reprDigest: `sha-256=:${Buffer.from(wrong, 'hex').toString('base64')}:` });
    t.equal(raw.status, 422);
    t.equal(raw.body.code, 'DIGEST_MISMATCH');
    await assertNothingLeft(t, server, db, before, 'a digest mismatch');
    t.equal((await alice.download('mismatch.bin')).status, 404);
    const kept = await alice.upload('notes.txt', content, { reprDigest: `sha-256=:${Buffer.from(wrong, 'hex').toString('base64')}:` });
    t.equal(kept.status, 422, 'a mismatching replacement');
    t.notOk((await alice.download('notes.txt')).raw.equals(content), 'leaves the old content');
  });

  t.test('a digest that matches, in any case, is accepted', async (t) => {
    const content = randomContent(1000);
    const upper = await alice.uploadForm('upper.bin', content, { sha256: sha256Hex(content).toUpperCase() });
    t.equal(upper.status, 201);
    t.equal(upper.body.sha256, sha256Hex(content), 'answered in lower case');
    const listed = await alice.upload('listed.bin', content, { reprDigest: `unixsum=:AAAA:, ${reprDigestOf(content)}` });
    t.equal(listed.status, 201, 'other algorithms in the list are ignored');
  });

  t.test('other content types are 415 and store nothing', async (t) => {
    const before = await storageState(server, db);
    for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/mixed; boundary=x', 'image/png']) {
      const reply = await client.call('POST', '/cloud/my-drive/?filename=typed.txt', {
        token: alice.token,
        body: 'filename=typed.txt&file=hello',
        headers: { 'content-type': type },
      });
      t.equal(reply.status, 415, type);
      t.equal(reply.body.code, 'UNSUPPORTED_MEDIA_TYPE', type);
    }
    await assertNothingLeft(t, server, db, before, 'a 415');
  });

  t.test('multipart: one file part, then nothing; few and small fields before it', async (t) => {
    const content = randomContent(100_000);
    const file = { name: 'file', filename: 'upload.bin', content };
    const before = await storageState(server, db);
    const refusals = {
      'a second file part': [file, { ...file, name: 'file' }],
      'a second file part of another name': [file, { ...file, name: 'other' }],
      'a field after the file part': [file, { name: 'sha256', value: sha256Hex(content) }],
      'an unknown field after the file part': [{ name: 'filename', value: 'late.bin' }, file, { name: 'note', value: 'late' }],
      'nine text fields': [...Array.from({ length: 9 }, (_, index) => ({ name: `field${index}`, value: 'x' })), file],
      'a field of 1025 bytes': [{ name: 'note', value: 'é'.repeat(512) + 'x' }, file],
      'no file part': [{ name: 'filename', value: 'nothing.bin' }],
      'a file part not named file': [{ ...file, name: 'upload' }],
      'a file part without a filename': [{ name: 'file', content }],
      'a sha256 field that is not hex': [{ name: 'sha256', value: 'z'.repeat(64) }, file],
    };
    for (const [what, parts] of Object.entries(refusals)) {
      const reply = await alice.uploadParts(parts);
      t.equal(reply.status, 400, what);
      t.equal(reply.body.code, 'VALIDATION_FAILED', what);
    }
    await assertNothingLeft(t, server, db, before, 'a refused multipart request');
  });

  t.test('multipart: a malformed body is 400 and stores nothing', async (t) => {
    const before = await storageState(server, db);
    const content = randomContent(50_000);
    const cases: [string, string, Buffer][] = [
      ['no boundary', 'multipart/form-data', content],
      [
        'no closing boundary',
        'multipart/form-data; boundary=xyz',
        Buffer.concat([Buffer.from('--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n'), content]),
      ],
      ['garbage', 'multipart/form-data; boundary=xyz', content],
    ];
    for (const [what, type, body] of cases) {
      const reply = await client.call('POST', '/cloud/my-drive/', {
        token: alice.token,
        body: Readable.from([body]),
        headers: { 'content-type': type },
      });
      t.equal(reply.status, 400, what);
      t.equal(reply.body.code, 'VALIDATION_FAILED', what);
    }
    await assertNothingLeft(t, server, db, before, 'a malformed multipart body');
  });

  t.test('multipart: up to 8 fields of up to 1 KiB, unknown ones ignored, the filename from the part by default', async (t) => {
    const content = randomContent(10_000);
    const fields = [
      { name: 'filename', value: 'fields.bin' },
      { name: 'sha256', value: sha256Hex(content) },
      { name: 'note', value: 'é'.repeat(512) },
      ...Array.from({ length: 5 }, (_, index) => ({ name: `extra${index}`, value: String(index) })),
    ];
    const reply = await alice.uploadParts([...fields, { name: 'file', filename: 'ignored.bin', contentType: 'image/png', content }]);
    t.equal(reply.status, 201, 'eight fields, one of exactly 1024 bytes');
    t.equal(reply.body.filename, 'fields.bin', 'the filename field wins over the part');
    t.equal((await alice.download('fields.bin')).headers['content-type'], 'image/png', "the part's own type is kept");
    const fromPart = await alice.uploadParts([{ name: 'file', filename: 'from-part.bin', content }]);
    t.equal(fromPart.status, 201);
    t.equal(fromPart.body.filename, 'from-part.bin');
    t.same(Object.keys(fromPart.body).sort(), ['deduplicated', 'filename', 'replaced', 'sha256', 'size'], 'nothing but the reply fields');
  });

  t.test('raw: a filename is required, content_type is a type/subtype, Repr-Digest is sha-256=:base64:', async (t) => {
    const content = randomContent(1000);
    const before = await storageState(server, db);
    const noName = await client.call('POST', '/cloud/my-drive/', {
      token: alice.token,
      body: content,
      headers: { 'content-type': 'application/octet-stream' },
    });
    t.equal(noName.status, 400, 'no filename');
    t.equal(noName.body.code, 'VALIDATION_FAILED');
    for (const contentType of ['', 'text', 'text/', '/plain', 'text/plain; charset=utf-8', 'a b/c', 'text/html\r\nx: y']) {
      const reply = await alice.upload('typed.bin', content, { contentType });
      t.equal(reply.status, 400, `content_type ${JSON.stringify(contentType)}`);
      t.equal(reply.body.code, 'VALIDATION_FAILED');
    }
    const shortDigest = Buffer.alloc(31).toString('base64');
    for (const reprDigest of ['sha-256=abc', 'sha-256=:!!!!:', `sha-256=:${shortDigest}:`, sha256Hex(content), 'md5=:AAAA:', 'sha-256']) {
      const reply = await alice.upload('digest.bin', content, { reprDigest });
      t.equal(reply.status, 400, `Repr-Digest ${reprDigest}`);
      t.equal(reply.body.code, 'VALIDATION_FAILED');
    }
    await assertNothingLeft(t, server, db, before, 'a refused raw upload');
    const typed = await alice.upload('typed.svg', content, { contentType: 'image/svg+xml' });
    t.equal(typed.status, 201);
    t.equal((await alice.download('typed.svg')).headers['content-type'], 'image/svg+xml');
  });

  t.test('an upload needs a login', async (t) => {
    const reply = await client.call('POST', '/cloud/my-drive/?filename=anon.bin', {
      body: 'x',
      headers: { 'content-type': 'application/octet-stream' },
    });
    t.equal(reply.status, 401);
    t.equal(reply.body.code, 'UNAUTHENTICATED');
  });
});
