import { createHash } from 'node:crypto';
import path from 'node:path';
import { stat } from 'node:fs/promises';
import { formatReprDigest } from '@cloudstore/shared';
import { createSHA256 } from 'hash-wasm';
import t from 'tap';
import { forEachDatabase, restartServer } from './helpers/build-app.js';
import { Client } from './helpers/client.js';
import { filesBelow, randomContent, sha256Hex } from './helpers/content.js';
import { startFileServer } from './helpers/file-server.js';
import { TusUploads, patchAndDisconnect } from './helpers/tus.js';
import { eventually, sleep } from './helpers/waiting.js';

const MiB = 1024 * 1024;

/** Interrupted PATCHes and expiry, on the file store. */
forEachDatabase(t, async (t, kind) => {
  const { server, client, db, drives } = await startFileServer(t, kind, ['alice'], {
    resumableExpiryMs: 2000,
    resumableSweepIntervalMs: 250,
  });
  const [alice] = drives;
  const tus = new TusUploads(client, alice.token);
  const keyOf = async (location: string) =>
    String((await db('resumable_uploads').where('id', location.split('/').pop()!).first()).store_key);
  const fileOf = async (location: string) => path.join(server.dataDir, 'uploads', await keyOf(location));
  const sizeOf = async (file: string) => (await stat(file).catch(() => ({ size: -1 }))).size;
  const offsetOf = async (location: string) => Number((await tus.head(location)).headers['upload-offset']);
  /** PATCHes `bytes` at `offset` of an upload `length` long, drops the connection once the file holds them; true once HEAD says they were kept. */
  const sendAndCut = async (location: string, offset: number, length: number, bytes: Buffer) => {
    const file = await fileOf(location);
    const end = offset + bytes.length;
    await patchAndDisconnect(server.url, location, alice.token, offset, length - offset, bytes, async () => (await sizeOf(file)) >= end);
    return eventually(async () => (await offsetOf(location)) === end);
  };

  t.test('an interrupted PATCH keeps every byte that arrived, and the upload resumes after them', async (t) => {
    const content = randomContent(6 * MiB + 123);
    const location = await tus.start('resumed.bin', content.length, { sha256: sha256Hex(content) });
    const prefix = content.subarray(0, 2 * MiB + 77);
    t.ok(await sendAndCut(location, 0, content.length, prefix), 'HEAD says every byte sent was kept');
    // A second cut, from the new offset.
    t.ok(await sendAndCut(location, prefix.length, content.length, content.subarray(prefix.length, 4 * MiB)), 'and again');

    const rest = await tus.patch(location, 4 * MiB, content.subarray(4 * MiB));
    t.equal(rest.status, 204);
    t.ok((await alice.download('resumed.bin')).raw.equals(content), 'the file is whole and its digest checked');
  });

  t.test('a PATCH past a checkpoint (256 MiB), then cut: it resumes from what arrived', async (t) => {
    const content = randomContent(260 * MiB + 4321);
    const location = await tus.start('past-a-checkpoint.bin', content.length);
    const prefix = content.subarray(0, 258 * MiB + 17);
    t.ok(await sendAndCut(location, 0, content.length, prefix), 'every byte sent was kept');
    const rest = await tus.patch(location, prefix.length, content.subarray(prefix.length));
    t.equal(rest.status, 204);
    t.equal(rest.headers['repr-digest'], formatReprDigest(sha256Hex(content)), 'the hash continued across the checkpoint and the cut');
  });

  t.test('a crash after writing but before the checkpoint: the unrecorded tail is cut on resume', async (t) => {
    const content = randomContent(300_000);
    const location = await tus.start('crashed.bin', content.length);
    t.equal((await tus.patch(location, 0, content.subarray(0, 100_000))).status, 204);
    const { appendFile } = await import('node:fs/promises');
    await appendFile(await fileOf(location), Buffer.from('bytes nobody hashed'));
    t.equal(await offsetOf(location), 100_000);
    t.equal((await tus.patch(location, 100_000, content.subarray(100_000))).status, 204);
    t.ok((await alice.download('crashed.bin')).raw.equals(content));
  });

  t.test('another instance takes the next PATCH: it hashes the stored bytes again, and so does the first after it', async (t) => {
    // Two instances on one data directory and database; each keeps its node:crypto hash copies in its own threads.
    const other = await restartServer(t, server);
    const otherTus = new TusUploads(new Client(other.url), alice.token);
    const content = randomContent(5 * MiB + 321);
    const location = await tus.start('two-instances.bin', content.length);
    const cuts = [0, 2 * MiB, 3 * MiB + 5, 4 * MiB, content.length];
    const legs = [tus, otherTus, tus, tus];
    for (let index = 0; index < legs.length; index++) {
      const reply = await legs[index].patch(location, cuts[index], content.subarray(cuts[index], cuts[index + 1]));
      t.equal(reply.status, 204, `PATCH ${index + 1}`);
      if (index === legs.length - 1) {
        t.equal(reply.headers['repr-digest'], formatReprDigest(sha256Hex(content)), 'the digest covers every byte, once');
      }
    }
    t.ok((await alice.download('two-instances.bin')).raw.equals(content));
  });

  t.test('an upload saved by an earlier version (a hash-wasm state in the database) continues from that state', async (t) => {
    const content = randomContent(3 * MiB + 17);
    const location = await tus.start('earlier-version.bin', content.length);
    const half = Math.floor(content.length / 2);
    t.equal((await tus.patch(location, 0, content.subarray(0, half))).status, 204);
    const earlier = await createSHA256();
    earlier.init();
    // The state of a hash of other bytes: the digest shows which state the server continued.
    earlier.update(Buffer.alloc(half, 7));
    await db('resumable_uploads')
      .where('id', location.split('/').pop()!)
      .update({ hash_state: Buffer.from(earlier.save()).toString('base64') });
    const rest = await tus.patch(location, half, content.subarray(half));
    t.equal(rest.status, 204);
    const expected = createHash('sha256').update(Buffer.alloc(half, 7)).update(content.subarray(half)).digest('hex');
    t.equal(rest.headers['repr-digest'], formatReprDigest(expected), 'the saved state was continued, not the stored bytes rehashed');
  });

  t.test('an upload that receives nothing until Upload-Expires is removed with its bytes', async (t) => {
    const location = await tus.start('abandoned.bin', 10_000);
    const created = await tus.head(location);
    const expires = Date.parse(String(created.headers['upload-expires']));
    t.ok(expires > Date.now() && expires <= Date.now() + 3000, 'Upload-Expires follows the expiry time');
    const patched = await tus.patch(location, 0, randomContent(4000));
    t.equal(patched.status, 204);
    t.ok(Date.parse(String(patched.headers['upload-expires'])) >= expires, 'each PATCH pushes the expiry back');
    const file = await fileOf(location);
    t.equal(await sizeOf(file), 4000);
    t.ok(await eventually(async () => (await sizeOf(file)) === -1, 10_000), 'the bytes are removed');
    t.equal((await tus.head(location)).status, 404);
    t.equal(await db('resumable_uploads').where('id', location.split('/').pop()!).first(), undefined, 'and the row');
    t.same(await filesBelow(path.join(server.dataDir, 'uploads')), [], 'nothing is left in uploads/');
  });

  t.test('a slow PATCH is timed by its idle time, not the whole-request deadline; a silent one is cut and keeps its bytes', async (t) => {
    const {
      client: strictClient,
      drives: [bob],
    } = await startFileServer(t, kind, ['bob'], {
      requestTimeoutMs: 1000,
      bodyIdleTimeoutMs: 1000,
    });
    const bobTus = new TusUploads(strictClient, bob.token);
    const content = randomContent(10 * 1000);
    const location = await bobTus.start('slow.bin', content.length);
    const trickled = await bobTus.patch(
      location,
      0,
      (async function* () {
        for (let offset = 0; offset < 5000; offset += 1000) {
          yield content.subarray(offset, offset + 1000);
          await sleep(400);
        }
      })() as unknown as NodeJS.ReadableStream,
    );
    t.equal(trickled.status, 204, 'two seconds of trickling, past the 1 s request deadline');
    t.equal(trickled.headers['upload-offset'], '5000');
    const started = Date.now();
    const silent = await bobTus
      .patch(
        location,
        5000,
        (async function* () {
          yield content.subarray(5000, 7000);
          await sleep(6000);
          yield content.subarray(7000);
        })() as unknown as NodeJS.ReadableStream,
      )
      .catch((error: unknown) => error);
    t.ok(silent instanceof Error, 'the silent PATCH was cut');
    t.ok(Date.now() - started < 5000, `after ${Date.now() - started} ms, its idle time`);
    t.equal(Number((await bobTus.head(location)).headers['upload-offset']), 7000, 'its bytes were kept');
    t.equal((await bobTus.patch(location, 7000, content.subarray(7000))).status, 204);
    t.ok((await bob.download('slow.bin')).raw.equals(content));
  });
});
