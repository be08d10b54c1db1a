import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ROUTES } from '@cloudstore/shared';
import type { Knex } from 'knex';
import t, { type Test } from 'tap';
import type { Config } from '../src/config.js';
import { forEachDatabase } from './helpers/build-app.js';
import { corruptOnDisk, scrubEvents } from './helpers/scrub.js';
import { randomContent, sha256Hex } from './helpers/content.js';
import type { Drive } from './helpers/drive.js';
import { startFileServer } from './helpers/file-server.js';
import { createBucket, s3Client, s3StoreConfig, startS3rver } from './helpers/s3-server.js';
import { eventually } from './helpers/waiting.js';

const MiB = 1024 * 1024;

// Generous: the machines these run on may be busy (the scrub's timing is checked by scrub-rate.test.ts alone).
t.setTimeout(300_000);

/** A scrub that reads everything again every 200 ms, looking for due content every 50 ms: damage is found at once. */
const EAGER_SCRUB: Partial<Config> = { scrubBytesPerSecond: 256 * MiB, scrubIntervalMs: 200, scrubIdlePollMs: 50 };

const verify = (drive: Drive, filename: string, owner?: string) =>
  drive.client.call('POST', ROUTES.verify, { token: drive.token, json: owner === undefined ? { filename } : { filename, owner } });

async function listed(drive: Drive, filename: string): Promise<Record<string, unknown> | undefined> {
  const reply = await drive.client.call('GET', `${ROUTES.drivePermit}?limit=1000`, { token: drive.token });
  return (reply.body.files as Array<Record<string, unknown>>).find((entry) => entry.filename === filename);
}

/** What a user sees of damaged content: 503 CONTENT_DAMAGED without a byte of it, `damaged` in the listing and in verify. */
async function assertQuarantined(t: Test, drive: Drive, filename: string, content: Buffer): Promise<void> {
  for (const headers of [{}, { range: 'bytes=0-99' }] as Record<string, string>[]) {
    const download = await drive.download(filename, headers);
    t.equal(download.status, 503, `download (${JSON.stringify(headers)}) is 503`);
    t.equal(download.body.code, 'CONTENT_DAMAGED');
    t.notOk(download.raw.includes(content.subarray(0, 64)), 'no byte of the content is served');
    t.equal(download.headers.etag, undefined, 'no ETag');
  }
  const head = await drive.client.call('HEAD', `${ROUTES.myDrive}?filename=${encodeURIComponent(filename)}`, { token: drive.token });
  t.equal(head.status, 503, 'HEAD is 503 too');
  const claim = await drive.claim(`claimed-${filename}`, content);
  t.equal(claim.status, 503, 'a claim of it is 503 too');
  t.equal(claim.body.code, 'CONTENT_DAMAGED');
  t.match(await listed(drive, filename), { filename, damaged: true }, 'ls shows it damaged');
  const verified = await verify(drive, filename);
  t.equal(verified.status, 200);
  t.same(verified.body, { filename, owner: verified.body.owner, sha256: sha256Hex(content), size: content.length, status: 'damaged' });
}

async function assertHealthy(t: Test, drive: Drive, filename: string, content: Buffer): Promise<void> {
  const download = await drive.download(filename);
  t.equal(download.status, 200, 'served again');
  t.ok(download.raw.equals(content), 'the right bytes');
  t.match(await listed(drive, filename), { filename, damaged: false }, 'ls shows it whole');
  t.match((await verify(drive, filename)).body, { status: 'ok' }, 'verify says ok');
}

forEachDatabase(t, async (t, kind) => {
  t.test('the scrub finds a blob corrupted on disk; uploads of the same bytes heal it', async (t) => {
    const {
      server,
      drives: [alice, bob],
    } = await startFileServer(t, kind, ['alice', 'bob'], EAGER_SCRUB);
    const events = scrubEvents(server);
    const content = randomContent(3 * MiB + 17);
    t.equal((await alice.upload('photo.raw', content)).status, 201);
    t.equal(
      (await alice.client.call('POST', ROUTES.drivePermit, { token: alice.token, json: { filename: 'photo.raw', username: 'bob' } }))
        .status,
      201,
    );
    t.ok(await eventually(async () => events.some((event) => event.status === 'ok'), 10_000), 'scrubbed whole first');
    await corruptOnDisk(server, content);
    t.ok(await eventually(async () => events.some((event) => event.status === 'damaged'), 10_000), 'the scrub finds the damage');
    await assertQuarantined(t, alice, 'photo.raw', content);
    t.equal((await bob.download('photo.raw')).body.code, 'CONTENT_DAMAGED', 'a friend gets 503 as well');

    const healed = await bob.upload('my-copy.raw', content);
    t.equal(healed.status, 201, 'a raw upload of the same bytes');
    await assertHealthy(t, alice, 'photo.raw', content);

    await corruptOnDisk(server, content);
    const found = events.length;
    t.ok(await eventually(async () => events.slice(found).some((event) => event.status === 'damaged'), 10_000), 'damaged again');
    t.equal((await alice.download('photo.raw')).status, 503);
    t.equal((await alice.uploadForm('again.raw', content)).status, 201, 'a multipart upload of the same bytes');
    await assertHealthy(t, alice, 'photo.raw', content);
  });

  t.test('verify re-hashes on request: the stored digest, the quarantine, who may ask, and its limit', async (t) => {
    const {
      server,
      drives: [alice, bob, carol],
    } = await startFileServer(t, kind, ['alice', 'bob', 'carol'], { verifyLimit: 3 });
    const content = randomContent(600 * 1024);
    await alice.upload('notes.txt', content);
    await alice.client.call('POST', ROUTES.drivePermit, { token: alice.token, json: { filename: 'notes.txt', username: 'bob' } });
    const ok = await verify(alice, 'notes.txt');
    t.equal(ok.status, 200);
    t.same(ok.body, { filename: 'notes.txt', owner: 'alice', sha256: sha256Hex(content), size: content.length, status: 'ok' });
    await corruptOnDisk(server, content);
    t.equal((await alice.download('notes.txt')).status, 200, 'not known yet without a scrub');
    const damaged = await verify(bob, 'notes.txt', 'alice');
    t.match(damaged.body, { filename: 'notes.txt', owner: 'alice', status: 'damaged' }, 'a friend may verify, and finds it damaged');
    t.equal((await alice.download('notes.txt')).body.code, 'CONTENT_DAMAGED', 'and quarantines it');
    t.equal((await verify(carol, 'notes.txt', 'alice')).body.code, 'FILE_NOT_FOUND', 'a stranger learns nothing');
    t.equal((await verify(alice, 'nothing.txt')).body.code, 'FILE_NOT_FOUND');
    t.equal((await verify(alice, '')).body.code, 'VALIDATION_FAILED');
    const wrongType = await alice.client.call('POST', ROUTES.verify, { token: alice.token, json: { filename: 7 } });
    t.equal(wrongType.body.code, 'VALIDATION_FAILED', 'a number is not a filename');
    t.equal((await alice.client.call('POST', ROUTES.verify, { json: { filename: 'notes.txt' } })).status, 401);
    t.equal((await verify(alice, 'notes.txt')).status, 200, 'the second of alice');
    t.equal((await verify(alice, 'notes.txt')).status, 200, 'the third');
    const limited = await verify(alice, 'notes.txt');
    t.equal(limited.status, 429, 'the fourth in a minute is refused');
    t.equal(limited.body.code, 'RATE_LIMITED');
    t.ok(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 60, 'with Retry-After');
    t.equal((await verify(bob, 'notes.txt', 'alice')).status, 200, 'counted per user');
  });

  t.test('S3: an object overwritten in the store is found, quarantined and healed', async (t) => {
    const endpoint = await startS3rver(t);
    const bucket = await createBucket(t, endpoint);
    const client = s3Client(t, endpoint);
    const {
      server,
      db,
      drives: [alice],
    } = await startFileServer(t, kind, ['alice'], { ...EAGER_SCRUB, blobStore: s3StoreConfig(endpoint, bucket) });
    const events = scrubEvents(server);
    const content = randomContent(2 * MiB + 3);
    await alice.upload('s3.bin', content);
    const objectOf = async (sha256: string, handle: Knex = db) =>
      String((await handle('blob_objects').where('sha256', sha256).first('object_name')).object_name);
    const damagedCopy = Buffer.from(content);
    damagedCopy[1000] ^= 0x01;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: await objectOf(sha256Hex(content)), Body: damagedCopy }));
    t.ok(await eventually(async () => events.some((event) => event.status === 'damaged'), 15_000), 'the scrub finds the damage');
    await assertQuarantined(t, alice, 's3.bin', content);
    t.equal((await alice.upload('copy.bin', content)).status, 201);
    await assertHealthy(t, alice, 's3.bin', content);
  });
});
