import type { Worker } from 'node:worker_threads';
import { startComputingWorker } from '../worker-flags.js';
import { AppError } from '../errors.js';
import type { PasswordJob } from './password-worker.js';

/** Logins and registrations that may wait for a hashing thread; beyond them, 503. */
const QUEUE_LIMIT = 64;

interface Task {
  job: PasswordJob;
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/**
 * A fixed set of worker threads that compute password hashes (see password-worker.ts), each one
 * at a time, so that hashing never takes libuv's thread pool from file I/O and never more than
 * `size` hashes run at once.
 */
export class PasswordPool {
  private readonly idle: Worker[] = [];
  private readonly running = new Map<Worker, Task>();
  private readonly queue: Task[] = [];
  private isClosed = false;

  constructor(size: number) {
    for (let index = 0; index < size; index++) this.spawn();
  }

  run<T>(job: PasswordJob): Promise<T> {
    if (this.idle.length === 0 && this.queue.length >= QUEUE_LIMIT) {
      return Promise.reject(
        new AppError('SERVICE_UNAVAILABLE', 'too many logins and registrations at once, try again shortly', {}, { 'retry-after': '1' }),
      );
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ job, resolve: resolve as (result: unknown) => void, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.isClosed = true;
    const workers = [...this.idle, ...this.running.keys()];
    await Promise.all(workers.map((worker) => worker.terminate()));
  }

  private spawn(): void {
    const worker = startComputingWorker(new URL('./password-worker.js', import.meta.url));
    // Only a thread at work keeps the process alive (a command-line script waits for its hash).
    worker.unref();
    worker.on('message', (reply: { result?: unknown; error?: string }) => {
      const task = this.running.get(worker)!;
      this.running.delete(worker);
      worker.unref();
      this.idle.push(worker);
      if (reply.error !== undefined) task.reject(new Error(`password hashing failed: ${reply.error}`));
      else task.resolve(reply.result);
      this.dispatch();
    });
    // A thread that died (out of memory, say) fails its job and is replaced.
    worker.on('error', (error) => {
      this.running.get(worker)?.reject(error);
      this.running.delete(worker);
      if (this.idle.includes(worker)) this.idle.splice(this.idle.indexOf(worker), 1);
      if (!this.isClosed) this.spawn();
    });
    this.idle.push(worker);
    this.dispatch();
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const task = this.queue.shift()!;
      this.running.set(worker, task);
      worker.ref();
      worker.postMessage(task.job);
    }
  }
}
