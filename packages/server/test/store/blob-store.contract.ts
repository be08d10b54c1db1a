import { createHash, type Hash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import type { Test } from 'tap';
import { AppError } from '../../src/errors.js';
import type { BlobStore, ResumableBytes } from '../../src/store/blob-store.js';
import { randomContent, sha256Hex } from '../helpers/content.js';

/** Makes a new, empty store of the implementation under test, removed when `t` ends. */
export type StoreFactory = (t: Test) => Promise<BlobStore>;

const MiB = 1024 * 1024;
const EMPTY_SHA256 = sha256Hex(Buffer.alloc(0));

/** `content` in chunks of the given sizes, cycled: a socket's odd-sized reads. */
function chunked(content: Buffer, sizes: number[] = [content.length || 1]): Readable {
  const chunks: Buffer[] = [];
  for (let offset = 0, index = 0; offset < content.length; index++) {
    const size = sizes[index % sizes.length];
    chunks.push(content.subarray(offset, offset + size));
    offset += size;
  }
  return Readable.from(chunks, { objectMode: false });
}

/** A source that sends `prefix`, then fails as a dropped connection does (with `error`, or none). */
function failingAfter(prefix: Buffer, error?: Error): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (sent) {
        this.destroy(error);
        return;
      }
      sent = true;
      this.push(prefix);
    },
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function stored(store: BlobStore, content: Buffer): Promise<string> {
  const staged = await store.write(chunked(content), { maxBytes: content.length });
  await staged.publish();
  return staged.sha256;
}

/**
 * How the caller of an append takes the bytes to hash: each chunk as the store takes it, or also
 * offered views of shared memory (`onSharedBytes`), which a store may use instead. Those are
 * hashed 25 ms later, as a busy hashing thread might, after the store's write of the same bytes
 * is done: a store that reused the memory before the promise resolved makes the digest wrong
 * (checked by breaking the file store so).
 */
const HASHED_AS = ['chunks', 'shared views'] as const;
type HashedAs = (typeof HASHED_AS)[number];

/** One resumable append, as a PATCH makes it: each byte hashed, in order, each durable point recorded. */
async function appendPiece(
  store: BlobStore,
  from: ResumableBytes,
  source: Readable,
  length: number,
  hash: Hash,
  checkpoints: ResumableBytes[],
  hashedAs: HashedAs = 'chunks',
) {
  return store.appendResumable(from, source, {
    length,
    onBytes: (chunk) => {
      hash.update(chunk);
    },
    ...(hashedAs === 'shared views' && {
      onSharedBytes: async (view: Uint8Array) => {
        if (!(view.buffer instanceof SharedArrayBuffer)) throw new Error('not a view of shared memory');
        await new Promise((resolve) => setTimeout(resolve, 25));
        hash.update(view);
      },
    }),
    checkpoint: async (durable) => {
      checkpoints.push(durable);
    },
  });
}

/**
 * The behaviour every BlobStore must have (store/blob-store.ts). Each test gets a fresh store
 * from `createStore`. After every failed write, `sweepTemporary()` must find nothing left.
 */
export function blobStoreContract(t: Test, createStore: StoreFactory): void {
  // Each case has a store of its own and waits mostly on its disk or engine: they run four at once.
  // A new case must not depend on another one (nor on running alone).
  t.jobs = Math.max(t.jobs, 4);
  t.test('write hashes and counts the bytes; they are visible only once published', async (t) => {
    const store = await createStore(t);
    const content = randomContent(3 * MiB + 7);
    // Chunks that straddle every 1 MiB boundary of the store's write buffer.
    const staged = await store.write(chunked(content, [1, 65_536, MiB - 1, 3, MiB + 1]), { maxBytes: 5 * MiB });
    t.equal(staged.sha256, sha256Hex(content));
    t.equal(staged.size, content.length);
    t.equal(await store.stat(staged.sha256), null, 'not visible while staged');
    await staged.publish();
    t.same(await store.stat(staged.sha256), { size: content.length });
    t.ok((await readAll(store.read(staged.sha256))).equals(content), 'the same bytes come back');
    await staged.discard();
    t.same(await store.stat(staged.sha256), { size: content.length }, 'discard after publish leaves the blob');
    t.equal(await store.sweepTemporary(), 0, 'nothing temporary is left');
  });

  t.test('publish is idempotent, and identical content is one blob', async (t) => {
    const store = await createStore(t);
    const content = randomContent(100_000);
    const [first, second] = await Promise.all([
      store.write(chunked(content, [4096]), { maxBytes: MiB }),
      store.write(chunked(content, [777]), { maxBytes: MiB }),
    ]);
    t.equal(first.sha256, second.sha256);
    await Promise.all([first.publish(), second.publish()]);
    await first.publish();
    t.same(await store.stat(first.sha256), { size: content.length });
    t.ok((await readAll(store.read(first.sha256))).equals(content));
    t.equal(await store.sweepTemporary(), 0);
  });

  t.test('empty content is a blob like any other', async (t) => {
    const store = await createStore(t);
    const staged = await store.write(Readable.from([]), { maxBytes: 0 });
    t.equal(staged.sha256, EMPTY_SHA256);
    t.equal(staged.size, 0);
    await staged.publish();
    t.same(await store.stat(EMPTY_SHA256), { size: 0 });
    t.equal((await readAll(store.read(EMPTY_SHA256))).length, 0);
  });

  t.test('read gives one inclusive byte range', async (t) => {
    const store = await createStore(t);
    const content = randomContent(2 * MiB + 11);
    const sha256 = await stored(store, content);
    for (const [start, end] of [
      [0, 0],
      [0, 99],
      [MiB - 1, MiB + 1],
      [content.length - 1, content.length - 1],
      [5, content.length - 1],
    ]) {
      const bytes = await readAll(store.read(sha256, { start, end }));
      t.ok(bytes.equals(content.subarray(start, end + 1)), `bytes ${start}-${end}`);
    }
  });

  t.test('copyTo writes one inclusive range to a slow destination, and fails when it closes', async (t) => {
    const store = await createStore(t);
    const content = randomContent(3 * MiB + 5);
    const sha256 = await stored(store, content);
    for (const [start, end] of [
      [0, content.length - 1],
      [MiB - 3, 2 * MiB + 7],
      [10, 10],
    ]) {
      const received: Buffer[] = [];
      // Copies each chunk when it is flushed, as a socket does, then takes its time.
      const destination = new Writable({
        highWaterMark: 1024,
        write(chunk: Buffer, _encoding, done) {
          received.push(Buffer.from(chunk));
          setTimeout(done, 1);
        },
      });
      await store.copyTo(sha256, { start, end }, destination);
      t.ok(Buffer.concat(received).equals(content.subarray(start, end + 1)), `bytes ${start}-${end}`);
    }
    const closing = new Writable({ write: (_chunk, _encoding, done) => setTimeout(done, 50) });
    setTimeout(() => closing.destroy(), 10);
    await t.rejects(store.copyTo(sha256, { start: 0, end: content.length - 1 }, closing));
  });

  t.test('discard removes staged bytes without publishing them', async (t) => {
    const store = await createStore(t);
    const content = randomContent(10_000);
    const staged = await store.write(chunked(content), { maxBytes: MiB });
    await staged.discard();
    await staged.discard();
    t.equal(await store.stat(staged.sha256), null);
    t.equal(await store.sweepTemporary(), 0, 'no temporary bytes remain');
  });

  t.test('maxBytes is the largest size accepted', async (t) => {
    const store = await createStore(t);
    const content = randomContent(64 * 1024);
    const exact = await store.write(chunked(content, [1000]), { maxBytes: content.length });
    t.equal(exact.size, content.length, 'exactly maxBytes is accepted');
    await exact.discard();
    const error = await store.write(chunked(content, [1000]), { maxBytes: content.length - 1 }).catch((caught) => caught);
    t.ok(error instanceof AppError, 'one byte over is refused');
    t.equal(error.code, 'PAYLOAD_TOO_LARGE');
    t.equal(await store.stat(sha256Hex(content)), null);
    t.equal(await store.sweepTemporary(), 0, 'the refused write left nothing');
  });

  t.test('a source that fails mid-stream fails the write and leaves nothing', async (t) => {
    const store = await createStore(t);
    const failure = new Error('connection reset');
    await t.rejects(store.write(failingAfter(randomContent(3 * MiB), failure), { maxBytes: 10 * MiB }), failure);
    await t.rejects(store.write(failingAfter(randomContent(MiB)), { maxBytes: 10 * MiB }), 'a source destroyed without an error fails too');
    t.equal(await store.sweepTemporary(), 0);
  });

  t.test('rehash reads the stored bytes back and hashes them, at the pace asked', async (t) => {
    const store = await createStore(t);
    const content = randomContent(2 * MiB + 11);
    const sha256 = await stored(store, content);
    let paced = 0;
    const found = await store.rehash(sha256, {
      pace: async (bytes) => {
        paced += bytes;
      },
    });
    t.same(found, { sha256, size: content.length }, 'what the bytes hash to now');
    t.equal(paced, content.length, 'every byte went through the pace');
    t.same(await store.rehash(await stored(store, Buffer.alloc(0))), { sha256: EMPTY_SHA256, size: 0 }, 'empty content');
    t.equal(await store.rehash(sha256Hex('never stored')), null, 'nothing stored: null');
    const stop = new Error('stopping');
    await t.rejects(store.rehash(sha256, { pace: async () => Promise.reject(stop) }), stop, 'a pace that refuses stops the re-hash');
    t.same(await store.rehash(sha256), { sha256, size: content.length }, 'and the store goes on');
  });

  t.test('stat and read of content never stored', async (t) => {
    const store = await createStore(t);
    const unknown = sha256Hex('never stored');
    t.equal(await store.stat(unknown), null);
    await t.rejects(readAll(store.read(unknown)), 'reading it fails');
  });

  t.test('delete removes a blob, and deleting it again is no error', async (t) => {
    const store = await createStore(t);
    const keep = randomContent(1000);
    const drop = randomContent(1000);
    const kept = await stored(store, keep);
    const dropped = await stored(store, drop);
    await store.delete(dropped);
    await store.delete(dropped);
    t.equal(await store.stat(dropped), null);
    t.same(await store.stat(kept), { size: keep.length }, 'other blobs stay');
    await t.rejects(readAll(store.read(dropped)));
  });

  t.test('sweepTemporary does not disturb a write in progress', async (t) => {
    const store = await createStore(t);
    const head = randomContent(MiB);
    const tail = randomContent(MiB);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const isStarted = new Promise<void>((resolve) => (started = resolve));
    async function* slowSource() {
      yield head;
      started();
      await released;
      yield tail;
    }
    const writing = store.write(Readable.from(slowSource()), { maxBytes: 10 * MiB });
    await isStarted;
    await new Promise((resolve) => setTimeout(resolve, 50));
    t.equal(await store.sweepTemporary(), 0, 'a live write is not a crash leftover');
    release();
    const staged = await writing;
    await staged.publish();
    t.ok((await readAll(store.read(staged.sha256))).equals(Buffer.concat([head, tail])));
  });

  for (const hashedAs of HASHED_AS) {
    t.test(
      `a resumable upload, appended in pieces of any size, completes into a blob without a byte read back (hashed as ${hashedAs})`,
      async (t) => {
        const store = await createStore(t);
        const content = randomContent(9 * MiB + 11);
        const hash = createHash('sha256');
        const checkpoints: ResumableBytes[] = [];
        let bytes = await store.createResumable();
        t.equal(bytes.offset, 0);
        const cuts = [0, 1000, 3 * MiB + 1, 6 * MiB, 8 * MiB + 512 * 1024, content.length];
        for (let index = 1; index < cuts.length; index++) {
          const piece = content.subarray(cuts[index - 1], cuts[index]);
          bytes = await appendPiece(store, bytes, chunked(piece, [65_536, 777]), content.length, hash, checkpoints, hashedAs);
          t.equal(bytes.offset, cuts[index], `durable through ${cuts[index]}`);
          t.same(checkpoints.at(-1), bytes, 'the last checkpoint is the point returned');
          t.equal(await store.sweepTemporary(), 0, 'an upload in progress is no leftover');
        }
        const sha256 = hash.digest('hex');
        t.equal(sha256, sha256Hex(content), 'every byte was handed over once, in order');
        const staged = await store.completeResumable(bytes, sha256);
        t.equal(staged.size, content.length);
        t.equal(await store.stat(sha256), null, 'not visible before it is published');
        await staged.publish();
        await staged.discard();
        t.same(await store.stat(sha256), { size: content.length });
        t.ok((await readAll(store.read(sha256))).equals(content), 'the same bytes come back');
        t.equal(await store.sweepTemporary(), 0);
      },
    );

    t.test(
      `a resumable append whose source fails keeps every byte it took, and the upload goes on from there (hashed as ${hashedAs})`,
      async (t) => {
        const store = await createStore(t);
        const content = randomContent(6 * MiB + 3);
        const hash = createHash('sha256');
        const checkpoints: ResumableBytes[] = [];
        const start = await store.createResumable();
        const taken = content.subarray(0, 2 * MiB + 99);
        const failure = new Error('connection reset');
        await t.rejects(appendPiece(store, start, failingAfter(taken, failure), content.length, hash, checkpoints, hashedAs), failure);
        const durable = checkpoints.at(-1)!;
        t.equal(durable.offset, taken.length, 'what arrived before the failure is durable');
        const rest = await appendPiece(
          store,
          durable,
          chunked(content.subarray(taken.length)),
          content.length,
          hash,
          checkpoints,
          hashedAs,
        );
        t.equal(rest.offset, content.length);
        const staged = await store.completeResumable(rest, hash.digest('hex'));
        t.equal(staged.sha256, sha256Hex(content));
        await staged.publish();
        t.ok((await readAll(store.read(staged.sha256))).equals(content));
      },
    );
  }

  t.test('a resumable append refuses bytes past the length, keeping those before them', async (t) => {
    const store = await createStore(t);
    const hash = createHash('sha256');
    const checkpoints: ResumableBytes[] = [];
    const start = await store.createResumable();
    const error = await appendPiece(store, start, chunked(randomContent(3000), [1000]), 2500, hash, checkpoints).catch((caught) => caught);
    t.ok(error instanceof AppError);
    t.equal(error.code, 'PAYLOAD_TOO_LARGE');
    t.equal(checkpoints.at(-1)?.offset, 2000, 'the chunks that fitted are kept');
    await store.discardResumable(checkpoints.at(-1)!);
  });

  t.test('an empty resumable upload, and discarding one', async (t) => {
    const store = await createStore(t);
    const empty = await appendPiece(store, await store.createResumable(), Readable.from([]), 0, createHash('sha256'), []);
    t.equal(empty.offset, 0);
    const staged = await store.completeResumable(empty, EMPTY_SHA256);
    await staged.publish();
    t.same(await store.stat(EMPTY_SHA256), { size: 0 });

    const content = randomContent(6 * MiB + 1);
    const hash = createHash('sha256');
    const part = await appendPiece(
      store,
      await store.createResumable(),
      chunked(content.subarray(0, 5 * MiB + 10)),
      content.length,
      hash,
      [],
    );
    await store.discardResumable(part);
    await store.discardResumable(part);
    const sha256 = sha256Hex(content);
    t.equal(await store.stat(sha256), null);
    t.same(await asArray(store.list()), [EMPTY_SHA256], 'nothing of the discarded upload is a blob');
    t.equal(await store.sweepTemporary(), 0);
  });
}

async function asArray(items: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const item of items) all.push(item);
  return all;
}
