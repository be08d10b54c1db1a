import type { Worker } from 'node:worker_threads';
import { startComputingWorker } from '../worker-flags.js';

interface Pending {
  onSlab(slab: number): void;
  onDigest(sha256: string): void;
  onAbandoned(): void;
}

/**
 * A few worker threads that hash upload slabs in the shared memory of the slab pool (see
 * hash-worker.ts). One session per upload; its slabs are hashed in the order they are sent.
 */
export class HashPool {
  private readonly workers: Worker[] = [];
  private readonly sessions = new Map<number, Pending>();
  private nextSession = 1;

  constructor(size: number, memory: SharedArrayBuffer) {
    for (let index = 0; index < size; index++) {
      const worker = startComputingWorker(new URL('./hash-worker.js', import.meta.url));
      worker.unref();
      worker.postMessage({ memory });
      worker.on('message', (message: { session: number; slab?: number; sha256?: string; abandoned?: true }) => {
        const pending = this.sessions.get(message.session);
        if (!pending) return;
        if (message.slab !== undefined) return pending.onSlab(message.slab);
        this.sessions.delete(message.session);
        if (message.sha256 !== undefined) pending.onDigest(message.sha256);
        else pending.onAbandoned();
      });
      this.workers.push(worker);
    }
  }

  /** Starts hashing one stream of slabs; `onSlab(slab)` is called once each is hashed. */
  open(onSlab: (slab: number) => void): HashSession {
    const session = this.nextSession++;
    const worker = this.workers[session % this.workers.length];
    let resolveDigest: (sha256: string) => void = () => {};
    let resolveAbandoned: () => void = () => {};
    const digest = new Promise<string>((resolve) => (resolveDigest = resolve));
    const abandoned = new Promise<void>((resolve) => (resolveAbandoned = resolve));
    this.sessions.set(session, { onSlab, onDigest: (sha256) => resolveDigest(sha256), onAbandoned: () => resolveAbandoned() });
    return {
      update: (slab, offset, length) => worker.postMessage({ session, slab, offset, length }),
      digest: () => {
        worker.postMessage({ session, digest: true });
        return digest;
      },
      abandon: () => {
        worker.postMessage({ session, abandon: true });
        return abandoned;
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

export interface HashSession {
  /** Hashes `length` bytes at `offset` of the shared memory next; `onSlab(slab)` is called when done. */
  update(slab: number, offset: number, length: number): void;
  /** The hex SHA-256 of everything sent, once every update is hashed. */
  digest(): Promise<string>;
  /** Resolves once every slab sent is hashed (its `onSlab` called) and the session forgotten. */
  abandon(): Promise<void>;
}
