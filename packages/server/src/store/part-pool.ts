import { SlabPool } from './slab-pool.js';

/**
 * The S3 store's part buffers: `count` buffers of one part each, shared by every upload in
 * flight, handed out and waited for as the slab pool's slabs are (it counts them). Each buffer is
 * memory of its own, made at its first use and kept: the SDK is given a part as a Buffer of its
 * own, as it was before the pool (parts sent as views into one SharedArrayBuffer stalled or
 * came out wrong through the server's client), and an idle server holds no part memory.
 */
export class PartPool {
  private readonly slots: SlabPool;
  private readonly buffers: Buffer[] = [];

  constructor(
    readonly count: number,
    readonly partBytes: number,
  ) {
    this.slots = new SlabPool(count, 0);
  }

  /** A free buffer's number, as soon as there is one (first come, first served); rejects when `signal` aborts first. */
  acquire(signal: AbortSignal): Promise<number> {
    return this.slots.acquire(signal);
  }

  /** A free buffer's number if there is one right now (none is free while anyone waits). */
  tryAcquire(): number | undefined {
    return this.slots.tryAcquire();
  }

  release(part: number): void {
    this.slots.release(part);
  }

  bytesOf(part: number): Buffer {
    return (this.buffers[part] ??= Buffer.allocUnsafeSlow(this.partBytes));
  }

  get hasWaiters(): boolean {
    return this.slots.hasWaiters;
  }

  get inUse(): number {
    return this.count - this.slots.freeCount;
  }

  /** The most buffers ever in use at once (for tests and diagnostics): never above `count`. */
  get mostInUse(): number {
    return this.slots.mostInUse;
  }
}
