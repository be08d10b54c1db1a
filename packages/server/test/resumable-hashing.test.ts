import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { NEW_FAST_HASH, ResumableHashing } from '../src/services/resumable-hashing.js';

const sha256 = (...parts: Buffer[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
};

/** Hashes `bytes` from `state` and returns the state saved after them. */
async function hashAndSave(hashing: ResumableHashing, state: string | null, upload: string, offset: number, bytes: Buffer) {
  const hash = hashing.open(state, upload, offset);
  if (!(await hash.caughtUp)) throw new Error(`${upload} at ${offset}: not caught up`);
  hash.update(bytes);
  const saved = await hash.save();
  hash.end();
  return saved;
}

t.test('resumable hashes', async (t) => {
  const hashing = new ResumableHashing(2);
  t.teardown(() => hashing.close());
  const first = randomBytes(3 * 1024 * 1024 + 5);
  const second = randomBytes(100_000);

  t.test('fast: continued from the copy kept under the saved mark, at the saved offset', async (t) => {
    const saved = await hashAndSave(hashing, NEW_FAST_HASH, 'u1', 0, first);
    t.match(saved, /^node:crypto:./, 'a mark, not a state');
    const hash = hashing.open(saved, 'u1', first.length);
    t.equal(await hash.caughtUp, true);
    hash.update(second);
    t.equal(await hash.digest(), sha256(first, second));
  });

  t.test('batch buffers the threads give back at each sync are filled again, two hashes sharing them', async (t) => {
    // Two uploads at once on the two threads, fed in odd pieces, synced now and then as a PATCH
    // is paced: buffers come back after each sync, and a buffer reused too early would change a digest.
    const contents = [randomBytes(21 * 1024 * 1024 + 3), randomBytes(17 * 1024 * 1024 + 11)];
    const hashes = contents.map((_, index) => hashing.open(NEW_FAST_HASH, `recycled-${index}`, 0));
    const piece = 300_007;
    for (let offset = 0, round = 0; offset < contents[0].length; offset += piece, round++) {
      contents.forEach((content, index) => {
        if (offset < content.length) hashes[index].update(content.subarray(offset, offset + piece));
      });
      if (round % 10 === 9) await Promise.all(hashes.map((hash) => hash.sync()));
    }
    t.same(
      await Promise.all(hashes.map((hash) => hash.digest())),
      contents.map((content) => sha256(content)),
    );
  });

  t.test('shared memory hashed where it lies, in order with copied bytes, fast and portable alike', async (t) => {
    // As the file store hands its slabs over: each resolves once hashed, and only then may the
    // memory change; bytes given by copy before and after keep their place in the order.
    for (const state of [NEW_FAST_HASH, null]) {
      const memory = new SharedArrayBuffer(2 * 1024 * 1024);
      const shared = Buffer.from(memory);
      const hash = hashing.open(state, `shared-${String(state)}`, 0);
      const parts = [second];
      hash.update(second);
      for (let round = 0; round < 3; round++) {
        const content = randomBytes(1024 * 1024 + round);
        content.copy(shared, round % 2);
        await hash.updateShared(new Uint8Array(memory, round % 2, content.length));
        parts.push(content);
      }
      hash.update(second);
      parts.push(second);
      t.equal(await hash.digest(), sha256(...parts), state === null ? 'portable' : 'fast');
    }
  });

  t.test('fast: no copy under another mark, at another offset, in another process or once forgotten', async (t) => {
    const saved = await hashAndSave(hashing, NEW_FAST_HASH, 'u2', 0, first);
    const misses: [string, string, string, number][] = [
      ['another mark (a checkpoint that was not recorded)', 'node:crypto:elsewhere', 'u2', first.length],
      ['another offset', saved, 'u2', first.length - 1],
      ['another upload', saved, 'u3', first.length],
    ];
    for (const [what, state, upload, offset] of misses) {
      const hash = hashing.open(state, upload, offset);
      t.equal(await hash.caughtUp, false, what);
      hash.end();
    }
    const other = new ResumableHashing(2);
    const elsewhere = other.open(saved, 'u2', first.length);
    t.equal(await elsewhere.caughtUp, false, 'another instance has no copy');
    // Not caught up: it started from nothing, and the caller gives it the stored bytes first.
    elsewhere.update(first);
    elsewhere.update(second);
    t.equal(await elsewhere.digest(), sha256(first, second));
    await other.close();

    hashing.forget('u2');
    const forgotten = hashing.open(saved, 'u2', first.length);
    t.equal(await forgotten.caughtUp, false, 'forgotten (terminated or expired)');
    forgotten.end();
  });

  t.test('fast: a digest drops the copy; the oldest copies go past the bound', async (t) => {
    const saved = await hashAndSave(hashing, NEW_FAST_HASH, 'done', 0, second);
    const hash = hashing.open(saved, 'done', second.length);
    t.equal(await hash.digest(), sha256(second));
    const again = hashing.open(saved, 'done', second.length);
    t.equal(await again.caughtUp, false, 'the completed upload left no copy');
    again.end();

    const states: string[] = [];
    for (let index = 0; index <= 1024; index++) states.push(await hashAndSave(hashing, NEW_FAST_HASH, `many-${index}`, 0, second));
    // Both threads keep their own copies, up to 1024 each: the 2050 below fill both past the bound.
    for (let index = 1025; index < 2050; index++) states.push(await hashAndSave(hashing, NEW_FAST_HASH, `many-${index}`, 0, second));
    const oldest = hashing.open(states[0], 'many-0', second.length);
    t.equal(await oldest.caughtUp, false, 'the oldest copy was dropped');
    oldest.end();
    const newest = hashing.open(states[2049], 'many-2049', second.length);
    t.equal(await newest.caughtUp, true, 'the newest is kept');
    newest.update(first);
    t.equal(await newest.digest(), sha256(second, first));
  });

  t.test('portable: a hash-wasm state, continued by any instance', async (t) => {
    const saved = await hashAndSave(hashing, null, 'p1', 0, first);
    t.notMatch(saved, /:/, 'base64, never taken for a fast mark');
    const other = new ResumableHashing(1);
    const hash = other.open(saved, 'p1', first.length);
    t.equal(await hash.caughtUp, true);
    hash.update(second);
    t.equal(await hash.digest(), sha256(first, second));
    await other.close();
  });
});
