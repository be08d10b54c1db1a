import { Worker } from 'node:worker_threads';

interface Pending {
  onSlab(slab: number): void;
  onDigest(sha256: string): void;
}

/**
 * A few worker threads that hash upload slabs held in shared memory (see hash-worker.ts).
 * One session per upload; its slabs are hashed in the order they are sent.
 */
export class HashPool {
  private readonly workers: Worker[] = [];
  private readonly sessions = new Map<number, Pending>();
  private nextSession = 1;

  constructor(size: number) {
    for (let index = 0; index < size; index++) {
      const worker = new Worker(new URL('./hash-worker.js', import.meta.url));
      worker.unref();
      worker.on('message', (message: { session: number; slab?: number; sha256?: string }) => {
        const pending = this.sessions.get(message.session);
        if (!pending) return;
        if (message.sha256 !== undefined) {
          this.sessions.delete(message.session);
          pending.onDigest(message.sha256);
        } else {
          pending.onSlab(message.slab!);
        }
      });
      this.workers.push(worker);
    }
  }

  /** Starts hashing one stream of slabs of `ring`. */
  open(ring: SharedArrayBuffer, onSlab: (slab: number) => void): HashSession {
    const session = this.nextSession++;
    const worker = this.workers[session % this.workers.length];
    let resolveDigest: (sha256: string) => void = () => {};
    const digest = new Promise<string>((resolve) => (resolveDigest = resolve));
    this.sessions.set(session, { onSlab, onDigest: (sha256) => resolveDigest(sha256) });
    let isFirst = true;
    return {
      update: (slab, offset, length) => {
        worker.postMessage({ session, slab, offset, length, ring: isFirst ? ring : undefined });
        isFirst = false;
      },
      digest: () => {
        worker.postMessage({ session, digest: true });
        return digest;
      },
      abandon: () => {
        this.sessions.delete(session);
        worker.postMessage({ session, abandon: true });
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

export interface HashSession {
  /** Hashes `length` bytes at `offset` of the ring next; `onSlab(slab)` is called when done. */
  update(slab: number, offset: number, length: number): void;
  /** The hex SHA-256 of everything sent, once every update is hashed. */
  digest(): Promise<string>;
  abandon(): void;
}
