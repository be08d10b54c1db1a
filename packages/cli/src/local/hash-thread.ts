import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { IO_CHUNK_BYTES } from '@cloudstore/shared/limits';
import { POSITION, WORD, createProgress, progressViews } from './hash-progress.js';
import { hashRange } from './hash-range.js';
import type { HashJob } from './hash-worker.js';

/** What a download's part file is hashed with, as it is written. */
export interface Hasher {
  /** `piece` has just been written, and the part holds `written` bytes: a promise asks the writer to wait. */
  wrote(piece: Buffer, written: number): void | Promise<void>;
  /** The SHA-256 of the whole part, once its last byte is written. */
  digest(): Promise<Buffer>;
  /** Stops the hashing without a digest (the download failed). */
  close(): Promise<void>;
}

/** Starts hashing `part`, whose first `offset` bytes an earlier try wrote (0: none). */
export type StartHasher = (part: string, offset: number) => Promise<Hasher>;

/**
 * The SHA-256 on this thread, for what is too small to be worth a thread: the part's first
 * `offset` bytes read back from the disk (Node cannot save a hash's state, and reading a local
 * prefix back costs far less than fetching it again), then each piece as it is written.
 */
export const hasherHere: StartHasher = async (part, offset) => {
  const hash = createHash('sha256');
  if (offset > 0) await hashPrefix(part, offset, hash);
  return {
    wrote: (piece) => void hash.update(piece),
    digest: async () => hash.digest(),
    close: async () => {},
  };
};

async function hashPrefix(path: string, bytes: number, hash: Hash): Promise<void> {
  const file = await open(path, 'r');
  try {
    const hashed = await hashRange(file, hash, Buffer.allocUnsafeSlow(IO_CHUNK_BYTES), 0, bytes);
    if (hashed < bytes) throw new Error(`${path} became shorter while it was read`);
  } finally {
    await file.close();
  }
}

/**
 * How far the hash may fall behind the writes before the writer waits (until it is half as far).
 * A download faster than the hash (on a fast network) would otherwise run ahead without bound, and
 * a large file's first pages could leave the page cache before the thread reads them back.
 */
const MAX_LAG_BYTES = 256 * 1024 * 1024;

/**
 * The SHA-256 on a thread of its own, which reads the part back from its start as far as it is
 * written, while this thread goes on reading the socket and writing. The writer only says how far
 * it has written: it hands no bytes over and never waits for the hash, unless the hash falls
 * `maxLagBytes` behind. On a fast link the hash is the slower of the two (1.6 GB/s with SHA-NI);
 * the earlier hand-over of each 128 KiB piece through a ring of slots kept the two threads waking
 * each other (see docs/PERFORMANCE-NOTES.md).
 */
export const hasherOnThread =
  (maxLagBytes = MAX_LAG_BYTES): StartHasher =>
  async (part, offset) => {
    const progress = createProgress();
    const { control, positions } = progressViews(progress);
    Atomics.store(positions, POSITION.written, BigInt(offset));
    const workerData: HashJob = { progress, part };
    const worker = new Worker(new URL('./hash-worker.js', import.meta.url), {
      workerData,
      // It holds a hash and a buffer: nothing the process was started with (loaders a test
      // runner adds, say) is loaded into it, and small heaps keep its memory small.
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
    });
    const digest = once(worker, 'message').then((args) => Buffer.from(args[0] as Uint8Array));
    // A thread that fails or ends early must not leave anyone waiting for it forever.
    const stopped = new Promise<never>((_resolve, reject) => {
      worker.once('error', reject).once('exit', () => reject(new Error('the hashing thread stopped')));
    });
    // Awaited later; a failure before that must not go unhandled.
    digest.catch(() => {});
    stopped.catch(() => {});
    // A thread takes some 50 ms to start on our machines, and two or three times as long while it
    // shares the cores with this thread and the server busy with the download. The hash ends
    // last, so the download waits for it to start (its bytes wait in the socket meanwhile).
    await Promise.race([once(worker, 'online'), stopped]);
    const signal = () => {
      Atomics.add(control, WORD.signal, 1);
      Atomics.notify(control, WORD.signal);
    };
    const lagBehind = (written: number) => written - Number(Atomics.load(positions, POSITION.hashed));
    const catchUp = async (written: number) => {
      while (lagBehind(written) > maxLagBytes / 2) {
        const hashed = Atomics.load(positions, POSITION.hashed);
        await Promise.race([Atomics.waitAsync(positions, POSITION.hashed, hashed).value, stopped]);
      }
    };
    return {
      wrote(_piece, written) {
        Atomics.store(positions, POSITION.written, BigInt(written));
        signal();
        if (lagBehind(written) > maxLagBytes) return catchUp(written);
      },
      async digest() {
        Atomics.store(control, WORD.ended, 1);
        signal();
        try {
          return await digest;
        } finally {
          await worker.terminate();
        }
      },
      async close() {
        await worker.terminate();
      },
    };
  };
