import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { hasherHere, hasherOnThread, type StartHasher } from '../src/local/hash-thread.js';
import { appendHashing } from '../src/local/verified-write.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest();

async function partIn(t: Test): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'cloudstore-hash-thread-'));
  t.teardown(() => rm(directory, { recursive: true, force: true }));
  return join(directory, 'film.mkv.cloudstore-part');
}

/**
 * Appends `rest` to `part` after `offset` in pieces of `sizes` (in turn), through one reused
 * buffer as in-place-get.ts reads; counts the pieces after which the writer was asked to wait.
 */
async function download(part: string, offset: number, rest: Buffer, sizes: number[], startHasher: StartHasher) {
  let waits = 0;
  const source = {
    async drain(sink: (piece: Buffer) => void | Promise<void>) {
      const buffer = Buffer.alloc(Math.max(...sizes));
      for (let start = 0, turn = 0; start < rest.length; turn++) {
        const length = rest.subarray(start, start + sizes[turn % sizes.length]).copy(buffer);
        const taken = sink(buffer.subarray(0, length));
        if (taken) {
          waits++;
          await taken;
        }
        start += length;
      }
    },
    abort() {},
  };
  const progress = { advance() {}, finish() {} };
  const digest = await appendHashing({ source, sha256: Buffer.alloc(32), progress }, part, offset, startHasher);
  return { digest, waits };
}

const hashers: Record<string, StartHasher> = { 'on this thread': hasherHere, 'on a thread of its own': hasherOnThread() };

t.test('the part is hashed as it is written, whatever the pieces', async (t) => {
  const content = randomBytes(3 * 1024 * 1024 + 17);
  const cuts: Record<string, number[]> = {
    'pieces of 128 KiB': [128 * 1024],
    'small pieces of odd sizes': [1000, 1, 4095, 3000],
    'pieces larger than the thread reads': [300_000, 4096 * 3 + 1],
  };
  for (const [hasher, startHasher] of Object.entries(hashers)) {
    for (const [label, sizes] of Object.entries(cuts)) {
      const part = await partIn(t);
      const { digest } = await download(part, 0, content, sizes, startHasher);
      t.same(digest, sha256(content), `${hasher}: ${label}`);
      t.ok((await readFile(part)).equals(content), `${hasher}: the part holds the whole file`);
    }
    t.same(
      (await download(await partIn(t), 0, Buffer.alloc(0), [1], startHasher)).digest,
      sha256(Buffer.alloc(0)),
      `${hasher}: nothing at all`,
    );
  }
});

t.test('a resumed download hashes the part on disk, then the new bytes', async (t) => {
  const content = randomBytes(5 * 1024 * 1024 + 3);
  const offset = 2 * 1024 * 1024 + 1;
  for (const [hasher, startHasher] of Object.entries(hashers)) {
    const part = await partIn(t);
    // What an earlier try left: the first `offset` bytes, and a few more that the resume cuts off.
    await writeFile(part, content.subarray(0, offset + 1000));
    const { digest } = await download(part, offset, content.subarray(offset), [128 * 1024], startHasher);
    t.same(digest, sha256(content), hasher);
    t.ok((await readFile(part)).equals(content), `${hasher}: the part holds the whole file`);
  }
});

t.test('the writer waits once the hash falls too far behind, and goes on when it catches up', async (t) => {
  const content = randomBytes(4 * 1024 * 1024);
  // The thread takes milliseconds to start: by then the writer is far more than 64 KiB ahead.
  const { digest, waits } = await download(await partIn(t), 0, content, [16 * 1024], hasherOnThread(64 * 1024));
  t.same(digest, sha256(content));
  t.ok(waits > 0, `the writer waited ${waits} times`);
});

t.test('a part cut short under the thread fails the download, and a writer waiting for it is let go', async (t) => {
  for (const label of ['at the digest', 'while the writer waits']) {
    const part = await partIn(t);
    await writeFile(part, randomBytes(1024 * 1024));
    const hasher = await hasherOnThread(label === 'at the digest' ? 256 * 1024 * 1024 : 64 * 1024)(part, 0);
    // Another program (or a failing disk) takes the bytes away before the thread reads them.
    await truncate(part, 0);
    const taken = hasher.wrote(Buffer.alloc(0), 1024 * 1024);
    if (label === 'while the writer waits') await t.rejects(Promise.resolve(taken), /became shorter while it was downloaded/, label);
    await t.rejects(hasher.digest(), /became shorter while it was downloaded/, label);
  }
});

t.test('close ends the thread while it waits for more of the part', async (t) => {
  const part = await partIn(t);
  await writeFile(part, '');
  const hasher = await hasherOnThread()(part, 0);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await hasher.close();
  t.pass('closed');
});
