import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { hasherHere, hasherOnThread, type Hasher } from '../src/local/hash-thread.js';
import { appendHashing } from '../src/local/verified-write.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest();

/** Feeds `pieces` as a download feeds them: the next piece only once a returned promise settles. */
async function feed(hasher: Hasher, pieces: Buffer[]): Promise<Buffer> {
  for (const piece of pieces) await hasher.update(piece);
  return hasher.digest();
}

t.test('the thread hashes what this thread would, whatever the pieces', async (t) => {
  const content = randomBytes(3 * 1024 * 1024 + 17);
  const cuts: Record<string, number[]> = {
    'pieces of the slot size': [4096],
    'pieces smaller than a slot': [1000, 1, 4095, 3000],
    'pieces of several slots (split across slots)': [10_000, 4096 * 3 + 1],
  };
  for (const [label, sizes] of Object.entries(cuts)) {
    const pieces: Buffer[] = [];
    for (let start = 0, turn = 0; start < content.length; turn++) {
      const size = sizes[turn % sizes.length];
      pieces.push(content.subarray(start, start + size));
      start += size;
    }
    // Slots of 4 KiB: the ring of 16 wraps around hundreds of times, and fills up when the thread lags.
    t.same(await feed(hasherOnThread(4096), pieces), sha256(content), label);
  }
  t.same(await feed(hasherOnThread(4096), []), sha256(Buffer.alloc(0)), 'nothing at all');
  t.same(await feed(hasherHere(), [content]), sha256(content), 'and on this thread');
});

t.test('a piece is copied before update returns, or before its promise settles: the caller may reuse it', async (t) => {
  const buffer = Buffer.alloc(4096);
  const expected = createHash('sha256');
  const hasher = hasherOnThread(4096);
  for (let turn = 0; turn < 200; turn++) {
    buffer.fill(turn);
    expected.update(buffer);
    await hasher.update(buffer);
  }
  t.same(await hasher.digest(), expected.digest());
});

t.test('close ends the thread while it waits for a piece', async (t) => {
  const hasher = hasherOnThread(4096);
  await hasher.update(randomBytes(100));
  await new Promise((resolve) => setTimeout(resolve, 100));
  await hasher.close();
  t.pass('closed');
});

t.test('a resumed download hashes the part on disk, then the new bytes, through the thread', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'cloudstore-hash-thread-'));
  t.teardown(() => rm(directory, { recursive: true, force: true }));
  const content = randomBytes(5 * 1024 * 1024 + 3);
  const part = join(directory, 'film.mkv.cloudstore-part');
  const offset = 2 * 1024 * 1024 + 1;
  // What an earlier try left: the first `offset` bytes, and a few more that the resume cuts off.
  await writeFile(part, content.subarray(0, offset + 1000));
  const rest = content.subarray(offset);
  const source = {
    async drain(sink: (piece: Buffer) => void | Promise<void>) {
      const buffer = Buffer.alloc(128 * 1024);
      for (let start = 0; start < rest.length; start += buffer.length) {
        // One read buffer, reused, as in-place-get.ts reads.
        const length = rest.subarray(start, start + buffer.length).copy(buffer);
        await sink(buffer.subarray(0, length));
      }
    },
    abort() {},
  };
  const progress = { advance() {}, finish() {} };
  const digest = await appendHashing({ source, sha256: sha256(content), progress }, part, offset, hasherOnThread(128 * 1024));
  t.same(digest, sha256(content));
  t.ok((await readFile(part)).equals(content), 'the part holds the whole file');
});
