import { createHash, randomBytes } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { startComputingWorker } from '../worker-flags.js';
import type { HashMessage } from './resumable-hash-worker.js';

/** The SHA-256 of a resumable upload, continued on a hashing thread (see resumable-hash-worker.ts). */
export interface ResumableHash {
  /**
   * Whether the hash covers the upload's stored bytes already. False only for a fast hash whose
   * copy this process does not have (another instance took the last PATCH, a restart, or a
   * checkpoint that was not recorded): it then starts from nothing, and the caller gives it
   * the stored bytes first.
   */
  readonly caughtUp: Promise<boolean>;
  /** Hashes `bytes` next (a copy goes to the thread: the caller may reuse them at once). */
  update(bytes: Uint8Array): void;
  /**
   * Hashes `view`, a view of shared memory, next, where it lies (no copy): resolves once it is
   * hashed; until then the caller must not change those bytes.
   */
  updateShared(view: Uint8Array): Promise<void>;
  /** The state after every byte given so far, for the database: `open` continues from it. */
  save(): Promise<string>;
  /** Resolves once every byte given so far is hashed (the caller's pace). */
  sync(): Promise<void>;
  /** The hex digest of every byte given so far; the hash is done. */
  digest(): Promise<string>;
  /** Forgets the hash (once done with it without a digest). */
  end(): void;
}

/**
 * The saved state of a fast hash (node:crypto's) is this prefix and a mark: the hashing thread
 * keeps a copy of the hash under that mark, which only this process can continue. Any other
 * saved state is hash-wasm's, base64 (never holding a ':'), which any instance can continue.
 */
const FAST_PREFIX = 'node:crypto:';
/** The state of a fast hash of nothing yet. */
export const NEW_FAST_HASH = FAST_PREFIX;

/** Bytes sent to a hashing thread in one message. */
const BATCH_BYTES = 1024 * 1024;
/**
 * Batch buffers given back by the threads (see resumable-hash-worker.ts) kept for reuse, at most:
 * as many as one upload has in flight (hashPacer's bound, twice 8 MiB). Dropped when no hash is open.
 */
const SPARE_BATCHES = 16;

interface Reply {
  session: number;
  /** Buffers of batches hashed, to fill again. */
  spare?: ArrayBuffer[];
  state?: Uint8Array | null;
  sha256?: string;
  caughtUp?: boolean;
}

interface Waiting {
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

/**
 * A few threads that hash resumable uploads (see resumable-hash-worker.ts), off the request's
 * thread, which then only moves bytes, as for the raw route. A fast hash always goes to the
 * thread chosen by its upload, which keeps its copies.
 */
export class ResumableHashing {
  private readonly workers: Worker[] = [];
  /** Replies awaited per session, in the order asked (a worker answers a session in order). */
  private readonly waiting = new Map<number, Waiting[]>();
  private nextSession = 1;
  private openHashes = 0;
  private readonly spare: ArrayBuffer[] = [];

  constructor(size: number) {
    for (let index = 0; index < size; index++) {
      const worker = startComputingWorker(new URL('./resumable-hash-worker.js', import.meta.url));
      worker.unref();
      worker.on('message', (reply: Reply) => {
        for (const buffer of reply.spare ?? []) if (this.openHashes > 0 && this.spare.length < SPARE_BATCHES) this.spare.push(buffer);
        const queue = this.waiting.get(reply.session);
        queue?.shift()?.resolve(reply);
        if (queue?.length === 0) this.waiting.delete(reply.session);
      });
      // A thread that dies fails what waits on it (the PATCHes keep their durable bytes) rather than hanging them.
      worker.on('error', (error) => this.failAll(error));
      worker.on('exit', () => this.failAll(new Error('a hashing thread exited')));
      this.workers.push(worker);
    }
  }

  /**
   * A hash of `upload` that continues from `state` (from `save`; NEW_FAST_HASH or null, a
   * portable one, for nothing yet), `offset` bytes into the upload.
   */
  open(state: string | null, upload: string, offset: number): ResumableHash {
    const session = this.nextSession++;
    this.openHashes++;
    let isOpen = true;
    const close = () => {
      if (!isOpen) return;
      isOpen = false;
      if (--this.openHashes === 0) this.spare.length = 0;
    };
    const isFast = state?.startsWith(FAST_PREFIX) === true;
    const worker = isFast ? this.workerOf(upload) : this.workers[session % this.workers.length];
    const send = (message: HashMessage, transfer: ArrayBuffer[] = []) => worker.postMessage(message, transfer);
    const ask = (message: HashMessage) =>
      new Promise<Reply>((resolve, reject) => {
        const queue = this.waiting.get(session) ?? [];
        queue.push({ resolve, reject });
        this.waiting.set(session, queue);
        send(message);
      });
    let caughtUp = Promise.resolve(true);
    if (isFast) {
      caughtUp = ask({ session, resume: { upload, mark: state!.slice(FAST_PREFIX.length), offset } }).then(
        (reply) => reply.caughtUp === true,
      );
      caughtUp.catch(() => {});
    } else {
      send({ session, load: state === null ? null : new Uint8Array(Buffer.from(state, 'base64')) });
    }
    // Bytes go to the thread in batches: one message per socket chunk costs more than its hashing.
    // Not zero-filled (a memset of every byte uploaded, 124 ms of the main thread per GiB), each
    // on an ArrayBuffer of its own, which goes to the thread without a copy, and made only when
    // bytes come (a save, a sync or a digest need none): one the threads gave back when there is
    // one. A new one each time cost 36,000 to 60,000 page faults per GiB (none on the raw route).
    let batch: Buffer<ArrayBuffer> | null = null;
    let batched = 0;
    const flush = () => {
      if (!batch || batched === 0) return;
      send({ session, chunk: batch.subarray(0, batched) }, [batch.buffer]);
      batch = null;
      batched = 0;
    };
    return {
      caughtUp,
      update: (bytes) => {
        for (let offset = 0; offset < bytes.length;) {
          if (!batch) {
            const reused = this.spare.pop();
            batch = reused ? Buffer.from(reused) : Buffer.allocUnsafeSlow(BATCH_BYTES);
          }
          const take = Math.min(bytes.length - offset, BATCH_BYTES - batched);
          batch.set(bytes.subarray(offset, offset + take), batched);
          batched += take;
          offset += take;
          if (batched === BATCH_BYTES) flush();
        }
      },
      updateShared: async (view) => {
        flush();
        await ask({ session, shared: view });
      },
      save: async () => {
        flush();
        if (!isFast) return Buffer.from((await ask({ session, save: true })).state!).toString('base64');
        const mark = randomBytes(12).toString('base64url');
        await ask({ session, save: true, mark });
        return FAST_PREFIX + mark;
      },
      sync: async () => {
        flush();
        await ask({ session, sync: true });
      },
      digest: async () => {
        flush();
        try {
          return (await ask({ session, digest: true })).sha256!;
        } finally {
          close();
        }
      },
      end: () => {
        close();
        this.waiting.delete(session);
        send({ session, end: true });
      },
    };
  }

  /** Drops the copy of a fast hash kept for `upload` (it was completed, terminated or expired). */
  forget(upload: string): void {
    this.workerOf(upload).postMessage({ forget: upload } satisfies HashMessage);
  }

  private workerOf(upload: string): Worker {
    return this.workers[createHash('sha256').update(upload).digest().readUInt32BE(0) % this.workers.length];
  }

  private failAll(error: Error): void {
    for (const queue of this.waiting.values()) for (const waiting of queue) waiting.reject(error);
    this.waiting.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
