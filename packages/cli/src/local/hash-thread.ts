import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { copyIntoShared } from '@cloudstore/shared/shared-memory';
import { CONTROL, createRing, ringViews } from './hash-ring.js';

/** What a download hashes its bytes with: `update` may ask the caller to wait (a promise). */
export interface Hasher {
  update(piece: Buffer): void | Promise<void>;
  digest(): Promise<Buffer>;
  /** Stops the hashing without a digest (the download failed). */
  close(): Promise<void>;
}

/** The SHA-256 on this thread, for what is too small to be worth a thread. */
export function hasherHere(): Hasher {
  const hash = createHash('sha256');
  return {
    update: (piece) => void hash.update(piece),
    digest: async () => hash.digest(),
    close: async () => {},
  };
}

const SLOTS = 16;

/**
 * The SHA-256 on a thread of its own, fed through a ring of slots in shared memory: each piece is
 * copied into the next slot (while it is still in the CPU's cache) and hashed there while this
 * thread writes it to the file and reads the next one. A `get` of a large file was bound by its
 * one thread reading, hashing and writing; hashing is nearly half of that work. The ring holds
 * `SLOTS` pieces of up to `slotBytes`: when the thread falls that far behind, `update` waits.
 */
export function hasherOnThread(slotBytes: number): Hasher {
  const ring = createRing(SLOTS, slotBytes);
  const { control, lengths, data } = ringViews(ring);
  const worker = new Worker(new URL('./hash-worker.js', import.meta.url), {
    workerData: ring,
    // It holds a hash and a few views: nothing the process was started with (loaders a test
    // runner adds, say) is loaded into it, and small heaps keep its memory small.
    execArgv: [],
    resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 },
  });
  const digest = once(worker, 'message').then((args) => Buffer.from(args[0] as Uint8Array));
  // A thread that fails or ends early must not leave `update` waiting for a slot forever.
  const stopped = new Promise<never>((_resolve, reject) => {
    worker.once('error', reject).once('exit', () => reject(new Error('the hashing thread stopped')));
  });
  // Awaited by `update` and `digest`; a failure before that must not go unhandled.
  digest.catch(() => {});
  stopped.catch(() => {});
  let written = 0;
  const signal = () => {
    Atomics.add(control, CONTROL.signal, 1);
    Atomics.notify(control, CONTROL.signal);
  };
  const fill = (piece: Buffer) => {
    const slot = written % SLOTS;
    // `piece.copy(data, …)` took 12 % of a 1 GiB get's thread: see copyIntoShared.
    copyIntoShared(data, slot * slotBytes, piece);
    lengths[slot] = piece.length;
    Atomics.store(control, CONTROL.written, ++written);
    signal();
  };
  const update = async (piece: Buffer): Promise<void> => {
    for (let start = 0; start < piece.length; start += slotBytes) {
      let hashed = Atomics.load(control, CONTROL.hashed);
      while (written - hashed >= SLOTS) {
        await Promise.race([Atomics.waitAsync(control, CONTROL.hashed, hashed).value, stopped]);
        hashed = Atomics.load(control, CONTROL.hashed);
      }
      fill(piece.subarray(start, start + slotBytes));
    }
  };
  return {
    update(piece) {
      // The common case, a piece that fits and a free slot, returns no promise.
      if (piece.length <= slotBytes && written - Atomics.load(control, CONTROL.hashed) < SLOTS) return fill(piece);
      return update(piece);
    },
    async digest() {
      Atomics.store(control, CONTROL.ended, 1);
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
}
