import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import t from 'tap';
import { forEachDatabase } from './helpers/build-app.js';
import { proofDigest, randomContent, sha256Hex } from './helpers/content.js';
import { startFileServer } from './helpers/file-server.js';
import { S3Proxy, slowDown } from './helpers/s3-proxy.js';
import { createBucket, s3Client, s3StoreConfig, startS3rver } from './helpers/s3-server.js';
import { eventually } from './helpers/waiting.js';

const MiB = 1024 * 1024;

// Every test file boots s3rver in this process, which slows every request on a loaded machine.
t.setTimeout(600_000);

/** The files and claims suites' key cases with BLOB_STORE=s3://… (s3rver, behind a counting proxy). */
forEachDatabase(t, async (t, kind) => {
  const endpoint = await startS3rver(t);
  const bucket = await createBucket(t, endpoint);
  const client = s3Client(t, endpoint);
  const proxy = await S3Proxy.start(t, endpoint.url);
  const {
    server,
    db,
    drives: [alice, bob],
  } = await startFileServer(t, kind, ['alice', 'bob'], {
    blobStore: s3StoreConfig(endpoint, bucket, proxy.url, 'content/'),
    dedupThresholdMax: 1,
  });
  const objects = async () =>
    ((await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'content/' }))).Contents ?? []).map((object) => object.Key!);

  const big = randomContent(12 * MiB + 5);
  const small = randomContent(200 * 1024);

  t.test('raw and multipart uploads write each byte to the store once', async (t) => {
    proxy.requests.length = 0;
    t.equal((await alice.upload('big.bin', big)).status, 201, 'raw upload of 12 MiB');
    const rawRatio = proxy.bytesPut() / big.length;
    t.ok(rawRatio >= 1 && rawRatio <= 1.05, `raw: ${rawRatio.toFixed(4)} bytes written to the store per byte uploaded`);
    proxy.requests.length = 0;
    const reply = await alice.uploadForm('small.bin', small);
    t.equal(reply.status, 201, 'multipart upload');
    t.match(reply.body, { sha256: sha256Hex(small), size: small.length, deduplicated: false });
    const formRatio = proxy.bytesPut() / small.length;
    t.ok(formRatio >= 1 && formRatio <= 1.05, `multipart: ${formRatio.toFixed(4)} bytes per byte`);
    t.equal((await objects()).length, 2, 'one object per content');
    const [row] = await db('blob_objects').where('sha256', sha256Hex(big));
    t.match(row.object_name, /^content\/[0-9a-f]{32}$/, 'the database maps the digest to a server-chosen name');
    t.equal((await bob.upload('copy.bin', big)).body.deduplicated, true, 'the same content again is deduplicated');
    t.equal((await objects()).length, 2, 'and leaves no second object');
  });

  t.test('downloads, whole and by ranges', async (t) => {
    const whole = await alice.download('big.bin');
    t.equal(whole.status, 200);
    t.ok(whole.raw.equals(big), 'the same bytes');
    t.equal(whole.headers.etag, `"${sha256Hex(big)}"`);
    for (const [start, end] of [
      [0, 0],
      [8 * MiB - 10, 8 * MiB + 10],
      [big.length - 3, big.length - 1],
    ]) {
      const part = await alice.download('big.bin', { range: `bytes=${start}-${end}` });
      t.equal(part.status, 206);
      t.equal(part.headers['content-range'], `bytes ${start}-${end}/${big.length}`);
      t.ok(part.raw.equals(big.subarray(start, end + 1)), `bytes ${start}-${end}`);
    }
  });

  t.test('a claim with proof reads the challenged ranges from the store', async (t) => {
    const { nonce, ranges } = await bob.challenge('claimed.bin', big);
    t.equal(ranges.length, 16);
    const wrong = await bob.claim('claimed.bin', big, { proof: { nonce, digest: proofDigest(nonce, ranges, randomContent(big.length)) } });
    t.equal(wrong.status, 403, 'a wrong answer is refused');
    const right = await bob.claimWithProof('claimed.bin', big);
    t.equal(right.status, 201);
    t.match(right.body, { deduplicated: true, sha256: sha256Hex(big) });
  });

  t.test('deleting the last file removes the object within 5 s', async (t) => {
    const before = await objects();
    t.equal((await alice.delete('small.bin')).status, 200);
    t.ok(await eventually(async () => (await objects()).length === before.length - 1), 'the object is gone');
    t.equal((await db('blob_objects').where('sha256', sha256Hex(small))).length, 0, 'and its mapping');
    t.equal((await bob.claim('small.bin', small)).status, 404, 'a claim for it is CONTENT_UNKNOWN');
    for (const name of ['big.bin']) t.equal((await alice.delete(name)).status, 200);
    t.equal((await bob.download('copy.bin')).status, 200, 'content still referenced stays');
  });

  t.test('an unreachable store: 503 and /health 503, then it recovers without a restart', async (t) => {
    const { nonce, ranges } = await bob.challenge('again.bin', big);
    await proxy.close();
    const upload = await alice.upload('during.bin', randomContent(1000));
    t.equal(upload.status, 503);
    t.equal(upload.body.code, 'SERVICE_UNAVAILABLE');
    const claim = await bob.claim('again.bin', big, { proof: { nonce, digest: proofDigest(nonce, ranges, big) } });
    t.equal(claim.status, 503, 'a proof, which reads the store');
    t.equal((await alice.client.call('GET', '/health')).status, 503);
    await proxy.open();
    t.equal((await alice.client.call('GET', '/health')).status, 200);
    t.equal((await alice.upload('during.bin', randomContent(1000))).status, 201, 'uploads work again');
    t.equal((await bob.download('copy.bin')).status, 200, 'downloads too');
  });

  t.test('throttling: 503 with Retry-After', async (t) => {
    proxy.answer = slowDown;
    const reply = await alice.upload('slow.bin', randomContent(1000));
    proxy.answer = null;
    t.equal(reply.status, 503);
    t.equal(reply.body.code, 'SERVICE_UNAVAILABLE');
    t.match(reply.headers['retry-after'], /^\d+$/);
    t.equal((await alice.upload('slow.bin', randomContent(1000))).status, 201, 'then it works');
  });

  t.equal(server.config.blobStore?.kind, 's3');
});
