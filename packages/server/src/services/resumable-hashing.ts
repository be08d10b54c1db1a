import { Worker } from 'node:worker_threads';
import { computeWorkerFlags } from '../worker-flags.js';
import type { HashMessage } from './resumable-hash-worker.js';

/** The SHA-256 of a resumable upload, continued from its saved state on a hashing thread. */
export interface ResumableHash {
  /** Hashes `bytes` next (a copy goes to the thread: the caller may reuse them at once). */
  update(bytes: Uint8Array): void;
  /** The state after every byte given so far, base64, to continue from later. */
  save(): Promise<string>;
  /** The hex digest of every byte given so far; the hash is done. */
  digest(): Promise<string>;
  /** Forgets the hash (once done with it without a digest). */
  end(): void;
}

/** Bytes sent to a hashing thread in one message. */
const BATCH_BYTES = 1024 * 1024;

interface Waiting {
  resolve(reply: { state?: Uint8Array; sha256?: string }): void;
  reject(error: Error): void;
}

/**
 * A few threads that hash resumable uploads (see resumable-hash-worker.ts): hash-wasm's SHA-256,
 * whose state is saved with each durable point, hashes at a quarter of node:crypto's speed
 * (443 against 1846 MB/s on our machine), so it is kept off the request's thread, which then
 * only moves bytes, as for the raw route.
 */
export class ResumableHashing {
  private readonly workers: Worker[] = [];
  /** Replies awaited per session, in the order asked (a worker answers a session in order). */
  private readonly waiting = new Map<number, Waiting[]>();
  private nextSession = 1;

  constructor(size: number) {
    for (let index = 0; index < size; index++) {
      const worker = new Worker(new URL('./resumable-hash-worker.js', import.meta.url), { execArgv: computeWorkerFlags() });
      worker.unref();
      worker.on('message', (reply: { session: number; state?: Uint8Array; sha256?: string }) => {
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

  /** A hash that continues from `state` (base64, from `save`), or starts afresh. */
  open(state: string | null): ResumableHash {
    const session = this.nextSession++;
    const worker = this.workers[session % this.workers.length];
    const send = (message: HashMessage, transfer: ArrayBuffer[] = []) => worker.postMessage(message, transfer);
    const ask = (message: HashMessage) =>
      new Promise<{ state?: Uint8Array; sha256?: string }>((resolve, reject) => {
        const queue = this.waiting.get(session) ?? [];
        queue.push({ resolve, reject });
        this.waiting.set(session, queue);
        send(message);
      });
    send({ session, load: state === null ? null : new Uint8Array(Buffer.from(state, 'base64')) });
    // Bytes go to the thread in batches: one message per socket chunk costs more than its hashing.
    let batch = new Uint8Array(BATCH_BYTES);
    let batched = 0;
    const flush = () => {
      if (batched === 0) return;
      const full = batch.subarray(0, batched);
      send({ session, chunk: full }, [batch.buffer]);
      batch = new Uint8Array(BATCH_BYTES);
      batched = 0;
    };
    return {
      update: (bytes) => {
        for (let offset = 0; offset < bytes.length;) {
          const take = Math.min(bytes.length - offset, BATCH_BYTES - batched);
          batch.set(bytes.subarray(offset, offset + take), batched);
          batched += take;
          offset += take;
          if (batched === BATCH_BYTES) flush();
        }
      },
      save: async () => {
        flush();
        return Buffer.from((await ask({ session, save: true })).state!).toString('base64');
      },
      digest: async () => {
        flush();
        return (await ask({ session, digest: true })).sha256!;
      },
      end: () => {
        this.waiting.delete(session);
        send({ session, end: true });
      },
    };
  }

  private failAll(error: Error): void {
    for (const queue of this.waiting.values()) for (const waiting of queue) waiting.reject(error);
    this.waiting.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
