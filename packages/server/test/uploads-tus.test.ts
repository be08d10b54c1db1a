import path from 'node:path';
import { formatReprDigest } from '@cloudstore/shared';
import t from 'tap';
import { forEachDatabase } from './helpers/build-app.js';
import { Client } from './helpers/client.js';
import { blobsOnDisk, filesBelow, randomContent, sha256Hex } from './helpers/content.js';
import { startFileServer } from './helpers/file-server.js';
import { TUS, TUS_BODY, TusUploads, metadataHeader } from './helpers/tus.js';
import { sleep } from './helpers/waiting.js';

const MAX_UPLOAD_BYTES = 4 * 1024 * 1024;

/** API.md "Resumable upload (tus 1.0)", case by case, on the file store. */
forEachDatabase(t, async (t, kind) => {
  const { server, client, db, drives } = await startFileServer(t, kind, ['alice', 'bob'], { maxUploadBytes: MAX_UPLOAD_BYTES });
  const [alice, bob] = drives;
  const tus = new TusUploads(client, alice.token);
  const bobTus = new TusUploads(client, bob.token);
  const uploadFiles = () => filesBelow(path.join(server.dataDir, 'uploads'));
  /** The file that holds the bytes of the upload at `location`. */
  const bytesOf = async (location: string) => {
    const [row] = await db('resumable_uploads').where('id', location.split('/').pop()!);
    return row ? String(row.store_key) : undefined;
  };

  t.test('OPTIONS says what the server offers', async (t) => {
    const reply = await tus.options();
    t.equal(reply.status, 204);
    t.equal(reply.headers['tus-resumable'], '1.0.0');
    t.equal(reply.headers['tus-version'], '1.0.0');
    t.equal(reply.headers['tus-extension'], 'creation,creation-with-upload,termination,expiration');
    t.equal(reply.headers['tus-max-size'], String(MAX_UPLOAD_BYTES));
    const anonymous = await client.call('OPTIONS', '/cloud/uploads');
    t.equal(anonymous.status, 401, 'authenticated like every /cloud/ route');
    t.equal(anonymous.body.code, 'UNAUTHENTICATED');
    t.equal(anonymous.headers['tus-resumable'], '1.0.0', 'errors carry Tus-Resumable too');
  });

  t.test('create, PATCH in pieces, HEAD between, complete', async (t) => {
    const content = randomContent(300_000);
    const created = await tus.create('pieces.bin', content.length, { contentType: 'text/plain', sha256: sha256Hex(content) });
    t.equal(created.status, 201);
    t.equal(created.headers['tus-resumable'], '1.0.0');
    const location = String(created.headers.location);
    const key = await bytesOf(location);
    t.match(location, /^\/cloud\/uploads\/[0-9a-f]{32}$/, 'an id of 128 random bits');
    t.ok(Date.parse(String(created.headers['upload-expires'])) > Date.now() + 23 * 3_600_000, 'expires in 24 h');

    const head = await tus.head(location);
    t.equal(head.status, 200);
    t.equal(head.headers['upload-offset'], '0');
    t.equal(head.headers['upload-length'], String(content.length));
    t.equal(
      head.headers['upload-metadata'],
      metadataHeader({ filename: 'pieces.bin', content_type: 'text/plain', sha256: sha256Hex(content) }),
    );
    t.equal(head.headers['cache-control'], 'no-store');
    t.equal(head.headers['tus-resumable'], '1.0.0');

    const first = await tus.patch(location, 0, content.subarray(0, 100_000));
    t.equal(first.status, 204);
    t.equal(first.headers['upload-offset'], '100000');
    t.equal(first.headers['repr-digest'], undefined, 'no digest before the end');
    t.equal((await tus.head(location)).headers['upload-offset'], '100000', 'HEAD says how many');

    const stale = await tus.patch(location, 0, content.subarray(0, 10));
    t.equal(stale.status, 409);
    t.equal(stale.body.code, 'UPLOAD_OFFSET_MISMATCH');

    const last = await tus.patch(location, 100_000, content.subarray(100_000));
    t.equal(last.status, 204);
    t.equal(last.headers['upload-offset'], String(content.length));
    t.equal(last.headers['repr-digest'], formatReprDigest(sha256Hex(content)), 'the final 204 carries Repr-Digest');
    t.equal((await tus.head(location)).status, 404, 'a completed upload is gone');

    const download = await alice.download('pieces.bin');
    t.equal(download.status, 200);
    t.ok(download.raw.equals(content), 'recorded as a file of that name');
    t.equal(download.headers['content-type'], 'text/plain');
    t.notOk((await uploadFiles()).includes(key!), 'the upload file was renamed into place');
    t.ok((await blobsOnDisk(server.dataDir)).includes(sha256Hex(content)));
    t.match((await alice.me()).body, { files: 1, bytes: content.length }, 'usage counts it');
  });

  t.test('creation-with-upload, replacing in place, and one stored copy', async (t) => {
    const content = randomContent(50_000);
    const whole = await tus.create('pieces.bin', content.length, { body: content });
    t.equal(whole.status, 201);
    t.equal(whole.headers['upload-offset'], String(content.length));
    t.equal(whole.headers['repr-digest'], formatReprDigest(sha256Hex(content)));
    t.ok((await alice.download('pieces.bin')).raw.equals(content), 'the file was replaced');
    t.match((await alice.me()).body, { files: 1, bytes: content.length });

    const partly = await tus.create('half.bin', content.length, { body: content.subarray(0, 20_000) });
    t.equal(partly.status, 201);
    t.equal(partly.headers['upload-offset'], '20000');
    t.equal(partly.headers['repr-digest'], undefined);
    const rest = await tus.patch(String(partly.headers.location), 20_000, content.subarray(20_000));
    t.equal(rest.status, 204);
    const blobs = await db('blobs').where('sha256', sha256Hex(content));
    t.equal(blobs.length, 1, 'one stored copy per content');
    t.equal(blobs[0].ref_count, 2);
  });

  t.test('an empty upload completes at creation', async (t) => {
    const created = await tus.create('empty.txt', 0);
    t.equal(created.status, 201);
    t.equal(created.headers['repr-digest'], formatReprDigest(sha256Hex(Buffer.alloc(0))));
    t.equal((await alice.download('empty.txt')).raw.length, 0);
  });

  t.test('Tus-Resumable is required on every request but OPTIONS', async (t) => {
    const location = await tus.start('version.bin', 10);
    const checks = [
      await client.call('POST', '/cloud/uploads/', {
        token: alice.token,
        headers: { 'upload-length': '5', 'upload-metadata': metadataHeader({ filename: 'x' }) },
      }),
      await tus.head(location, { 'tus-resumable': '0.2.2' }),
      await tus.patch(location, 0, Buffer.from('abc'), { 'tus-resumable': '' }),
      await tus.delete(location, {}),
    ];
    for (const reply of checks) {
      t.equal(reply.status, 412);
      t.equal(reply.headers['tus-version'], '1.0.0');
      t.equal(reply.headers['tus-resumable'], '1.0.0');
    }
    t.equal(checks[0].body.code, 'PRECONDITION_FAILED');
    t.equal((await tus.head(location)).headers['upload-offset'], '0', 'nothing was appended');
  });

  t.test('creation refuses bad requests before storing a byte', async (t) => {
    const before = await db('resumable_uploads').count({ count: '*' }).first();
    const cases: Array<[string, Promise<any>, number, string]> = [
      ['too large', tus.create('big.bin', MAX_UPLOAD_BYTES + 1), 413, 'PAYLOAD_TOO_LARGE'],
      [
        'no Upload-Length',
        client.call('POST', '/cloud/uploads/', {
          token: alice.token,
          headers: { ...TUS, 'upload-metadata': metadataHeader({ filename: 'a' }) },
        }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'deferred length',
        client.call('POST', '/cloud/uploads/', {
          token: alice.token,
          headers: { ...TUS, 'upload-defer-length': '1', 'upload-metadata': metadataHeader({ filename: 'a' }) },
        }),
        400,
        'VALIDATION_FAILED',
      ],
      ['a negative length', tus.create('a.bin', -1), 400, 'VALIDATION_FAILED'],
      [
        'no filename',
        client.call('POST', '/cloud/uploads/', { token: alice.token, headers: { ...TUS, 'upload-length': '3' } }),
        400,
        'VALIDATION_FAILED',
      ],
      ['a bad filename', tus.create('a/b', 3), 400, 'VALIDATION_FAILED'],
      ['a bad content_type', tus.create('a.bin', 3, { contentType: 'nonsense' }), 400, 'VALIDATION_FAILED'],
      ['a bad sha256', tus.create('a.bin', 3, { sha256: 'abc' }), 400, 'VALIDATION_FAILED'],
      [
        'malformed metadata',
        client.call('POST', '/cloud/uploads/', {
          token: alice.token,
          headers: { ...TUS, 'upload-length': '3', 'upload-metadata': 'filename !!!' },
        }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'a body of another type',
        client.call('POST', '/cloud/uploads/', {
          token: alice.token,
          body: 'abc',
          headers: {
            ...TUS,
            'content-type': 'application/octet-stream',
            'upload-length': '3',
            'upload-metadata': metadataHeader({ filename: 'a' }),
          },
        }),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      ['a body longer than the length', tus.create('a.bin', 2, { body: Buffer.from('abc') }), 413, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [what, sending, status, code] of cases) {
      const reply = await sending;
      t.equal(reply.status, status, what);
      t.equal(reply.body.code, code, what);
    }
    const after = await db('resumable_uploads').count({ count: '*' }).first();
    t.equal(Number(after?.count), Number(before?.count), 'no upload was left (the one whose body was too long was removed)');
  });

  t.test('PATCH refusals: type, offset, length', async (t) => {
    const location = await tus.start('refusals.bin', 10);
    const wrongType = await tus.patch(location, 0, Buffer.from('abc'), { 'content-type': 'application/octet-stream' });
    t.equal(wrongType.status, 415);
    t.equal(wrongType.body.code, 'UNSUPPORTED_MEDIA_TYPE');
    const ahead = await tus.patch(location, 5, Buffer.from('abc'));
    t.equal(ahead.status, 409);
    t.equal(ahead.body.code, 'UPLOAD_OFFSET_MISMATCH');
    const noOffset = await client.call('PATCH', location, { token: alice.token, body: 'abc', headers: TUS_BODY });
    t.equal(noOffset.status, 400);
    const tooLong = await tus.patch(location, 0, Buffer.from('0123456789A'));
    t.equal(tooLong.status, 413);
    t.equal(tooLong.body.code, 'PAYLOAD_TOO_LARGE');
    t.equal((await tus.head(location)).headers['upload-offset'], '0');
    const chunkedTooLong = await tus.patch(
      location,
      0,
      (async function* () {
        yield Buffer.from('01234');
        // Apart, so that the server takes the first before it meets the second.
        await sleep(200);
        yield Buffer.from('56789AB');
      })() as unknown as NodeJS.ReadableStream,
    );
    t.equal(chunkedTooLong.status, 413, 'a chunked body that runs past the length');
    t.equal((await tus.head(location)).headers['upload-offset'], '5', 'keeps what fitted before it');
    const rest = await tus.patch(location, 5, Buffer.from('56789'));
    t.equal(rest.status, 204);
    t.equal((await alice.download('refusals.bin')).raw.toString(), '0123456789');
  });

  t.test('DELETE discards the bytes', async (t) => {
    const location = await tus.start('terminated.bin', 1000);
    t.equal((await tus.patch(location, 0, randomContent(600))).status, 204);
    const key = await bytesOf(location);
    t.ok((await uploadFiles()).includes(key!), 'the bytes are in uploads/');
    const deleted = await tus.delete(location);
    t.equal(deleted.status, 204);
    t.equal(deleted.headers['tus-resumable'], '1.0.0');
    t.notOk((await uploadFiles()).includes(key!), 'the bytes are gone');
    t.equal((await tus.head(location)).status, 404);
    t.equal((await tus.patch(location, 600, randomContent(400))).status, 404);
    t.equal((await alice.download('terminated.bin')).status, 404);
  });

  t.test("another user's upload is 404 for every method", async (t) => {
    const location = await tus.start('private.bin', 100);
    t.equal((await tus.patch(location, 0, randomContent(10))).status, 204);
    const replies = [
      await bobTus.head(location),
      await bobTus.patch(location, 10, randomContent(10)),
      await bobTus.patch(location, 0, randomContent(10)),
      await bobTus.delete(location),
    ];
    for (const reply of replies) t.equal(reply.status, 404);
    t.equal(replies[1].body.code, 'FILE_NOT_FOUND');
    const unknown = await tus.head('/cloud/uploads/0123456789abcdef0123456789abcdef');
    t.equal(unknown.status, 404, 'the same as an id that does not exist');
    t.equal((await tus.head(location)).headers['upload-offset'], '10', "the owner's upload is untouched");
  });

  t.test('a digest mismatch discards the upload', async (t) => {
    const content = randomContent(20_000);
    const location = await tus.start('mismatch.bin', content.length, { sha256: sha256Hex(Buffer.from('other')) });
    t.equal((await tus.patch(location, 0, content.subarray(0, 5000))).status, 204);
    const last = await tus.patch(location, 5000, content.subarray(5000));
    t.equal(last.status, 422);
    t.equal(last.body.code, 'DIGEST_MISMATCH');
    t.equal(last.headers['tus-resumable'], '1.0.0');
    t.equal((await tus.head(location)).status, 404, 'the upload is discarded');
    t.equal((await alice.download('mismatch.bin')).status, 404, 'no file');
    t.notOk((await blobsOnDisk(server.dataDir)).includes(sha256Hex(content)), 'no blob');
  });

  t.test('at most 32 unfinished uploads per user', async (t) => {
    const carol = new TusUploads(client, await new Client(server.url).user('carol'));
    const locations: string[] = [];
    for (let index = 0; index < 32; index++) locations.push(await carol.start(`u${index}.bin`, 10));
    const refused = await carol.create('one-more.bin', 10);
    t.equal(refused.status, 429);
    t.equal(refused.body.code, 'RATE_LIMITED');
    t.equal((await bobTus.create('bob.bin', 10)).status, 201, 'another user is not limited');
    t.equal((await carol.patch(locations[0], 0, Buffer.from('0123456789'))).status, 204, 'finishing one frees a place');
    t.equal((await carol.create('one-more.bin', 10)).status, 201);
  });
});
