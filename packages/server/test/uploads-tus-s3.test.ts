import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import t from 'tap';
import { forEachDatabase } from './helpers/build-app.js';
import { randomContent, sha256Hex } from './helpers/content.js';
import { startFileServer } from './helpers/file-server.js';
import { S3Proxy } from './helpers/s3-proxy.js';
import { createBucket, s3Client, s3StoreConfig, startS3rver } from './helpers/s3-server.js';
import { TusUploads, patchAndDisconnect } from './helpers/tus.js';
import { eventually, sleep } from './helpers/waiting.js';

const MiB = 1024 * 1024;

// Every test file boots s3rver in this process, which slows every request on a loaded machine.
t.setTimeout(600_000);

/** Resumable uploads with BLOB_STORE=s3://… (s3rver, behind a counting proxy): parts, tails, interruptions, expiry. */
forEachDatabase(t, async (t, kind) => {
  const endpoint = await startS3rver(t);
  const bucket = await createBucket(t, endpoint);
  const client = s3Client(t, endpoint);
  const proxy = await S3Proxy.start(t, endpoint.url);
  const {
    client: http,
    db,
    server,
    drives: [alice],
  } = await startFileServer(t, kind, ['alice'], {
    blobStore: s3StoreConfig(endpoint, bucket, proxy.url, 'content/'),
    resumableExpiryMs: 3000,
    resumableSweepIntervalMs: 250,
  });
  const tus = new TusUploads(http, alice.token);
  const objects = async () =>
    ((await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'content/' }))).Contents ?? []).map((object) => object.Key!);
  const offsetOf = async (location: string) => Number((await tus.head(location)).headers['upload-offset']);
  const rowOf = (location: string) => db('resumable_uploads').where('id', location.split('/').pop()!).first();

  t.test('one PATCH writes each byte to the store once, into the object the database records', async (t) => {
    const content = randomContent(13 * MiB + 5);
    proxy.requests.length = 0;
    const location = await tus.start('one.bin', content.length, { sha256: sha256Hex(content) });
    const reply = await tus.patch(location, 0, content);
    t.equal(reply.status, 204);
    const ratio = proxy.bytesPut() / content.length;
    t.ok(ratio >= 1 && ratio <= 1.05, `${ratio.toFixed(4)} bytes written to the store per byte uploaded`);
    t.notOk(
      proxy.requests.some((request) => request.method === 'GET'),
      'nothing was read back',
    );
    const [row] = await db('blob_objects').where('sha256', sha256Hex(content));
    t.match(row.object_name, /^content\/[0-9a-f]{32}$/);
    t.same(await objects(), [row.object_name], 'one object, no tail left');
    t.ok((await alice.download('one.bin')).raw.equals(content));
  });

  t.test('small PATCHes: tails between them, parts once 5 MiB gathered, the last part short', async (t) => {
    const content = randomContent(12 * MiB + 1000);
    const location = await tus.start('small-patches.bin', content.length);
    const cuts = [0, 2 * MiB, 4 * MiB, 7 * MiB, 9 * MiB, 12 * MiB, content.length];
    for (let index = 1; index < cuts.length; index++) {
      const reply = await tus.patch(location, cuts[index - 1], content.subarray(cuts[index - 1], cuts[index]));
      t.equal(reply.status, 204, `PATCH ${index}`);
      t.equal(reply.headers['upload-offset'], String(cuts[index]));
      if (index < cuts.length - 1) t.equal(await offsetOf(location), cuts[index]);
      if (index === 1) {
        const state = JSON.parse((await rowOf(location)).store_state);
        t.match(state, { uploadId: null, parts: [], tail: { size: 2 * MiB } }, 'a short first PATCH is a tail object');
      }
      if (index === 3) {
        const state = JSON.parse((await rowOf(location)).store_state);
        t.equal(state.parts.length, 1, '7 MiB gathered: one part');
        t.equal(state.parts[0].size, 7 * MiB);
        t.equal(state.tail, null);
      }
    }
    t.ok((await alice.download('small-patches.bin')).raw.equals(content));
    t.equal((await objects()).length, 2, 'no tail object is left');
  });

  t.test('an interrupted PATCH keeps what arrived (parts and a tail) and resumes', async (t) => {
    const content = randomContent(11 * MiB);
    const location = await tus.start('interrupted.bin', content.length, { sha256: sha256Hex(content) });
    const prefix = content.subarray(0, 9 * MiB + 17);
    // 8 MiB go out as a part while the body arrives; the rest waits in memory until the cut.
    await patchAndDisconnect(server.url, location, alice.token, 0, content.length, prefix, async () => {
      await sleep(300);
      return (JSON.parse((await rowOf(location)).store_state).parts ?? []).length === 1;
    });
    t.ok(await eventually(async () => (await offsetOf(location)) === prefix.length, 10_000), 'every byte sent was kept');
    const reply = await tus.patch(location, prefix.length, content.subarray(prefix.length));
    t.equal(reply.status, 204);
    t.ok((await alice.download('interrupted.bin')).raw.equals(content));
  });

  t.test('a digest mismatch leaves no object; termination and expiry remove parts and tails', async (t) => {
    const before = (await objects()).length;
    const content = randomContent(6 * MiB);
    const mismatch = await tus.start('mismatch.bin', content.length, { sha256: sha256Hex(Buffer.from('x')) });
    t.equal((await tus.patch(mismatch, 0, content.subarray(0, MiB))).status, 204);
    const refused = await tus.patch(mismatch, MiB, content.subarray(MiB));
    t.equal(refused.status, 422);
    t.equal((await objects()).length, before, 'the completed object and the tail are gone');

    const terminated = await tus.start('terminated.bin', content.length);
    t.equal((await tus.patch(terminated, 0, content.subarray(0, MiB))).status, 204);
    t.equal((await objects()).length, before + 1, 'a tail object');
    t.equal((await tus.delete(terminated)).status, 204);
    t.equal((await objects()).length, before, 'gone with DELETE');

    const abandoned = await tus.start('abandoned.bin', 20 * MiB);
    t.equal((await tus.patch(abandoned, 0, content)).status, 204);
    t.match(JSON.parse((await rowOf(abandoned)).store_state), { parts: [{ size: 6 * MiB }], tail: null });
    t.equal((await tus.patch(abandoned, content.length, content.subarray(0, 1000))).status, 204);
    t.equal((await objects()).length, before + 1, 'a tail object after a part');
    t.ok(await eventually(async () => (await tus.head(abandoned)).status === 404, 15_000), 'the upload expires');
    t.ok(await eventually(async () => (await objects()).length === before, 5000), 'its tail is removed');
    t.ok(
      proxy.requests.some((request) => request.method === 'DELETE' && /uploadId=/.test(request.url)),
      'its multipart upload is aborted',
    );
  });
});
