/** Upload buffers are 1 MiB slabs: large positioned writes and few messages to the hash workers. */
export const SLAB_BYTES = 1024 * 1024;
/** A WebAssembly memory grows in pages of 64 KiB. */
const WASM_PAGE_BYTES = 64 * 1024;

type Waiter = (slab: number) => void;

/**
 * The one pool of upload buffers that every upload in flight draws from: `count` slabs of
 * shared memory (the hash workers read them in place). An upload that finds none free waits,
 * its socket paused meanwhile, instead of allocating: memory does not grow with the number of
 * uploads (API.md, "Limits, timeouts and housekeeping"). Pages are touched only once used, and
 * the slab used last is handed out first, so a lone upload keeps reusing the same few.
 * The memory starts on a page boundary (`isPageAligned`), so that the file store can write
 * slabs with O_DIRECT.
 */
export class SlabPool {
  readonly memory: SharedArrayBuffer;
  readonly buffer: Buffer;
  /** Whether the memory starts on a page boundary: every slab does then too. */
  readonly isPageAligned: boolean;
  private readonly free: number[] = [];
  private readonly waiters: Waiter[] = [];
  private most = 0;

  /** `slabBytes`: 1 MiB for upload buffers; 0 where the slabs are only counted (part-pool.ts). */
  constructor(
    readonly count: number,
    readonly slabBytes = SLAB_BYTES,
  ) {
    ({ memory: this.memory, isPageAligned: this.isPageAligned } = sharedMemory(count * slabBytes));
    this.buffer = Buffer.from(this.memory);
    for (let slab = count - 1; slab >= 0; slab--) this.free.push(slab);
  }

  offsetOf(slab: number): number {
    return slab * this.slabBytes;
  }

  /**
   * Copies `source` into `slab` from byte `at`. Not `source.copy(this.buffer, …)`: V8 copies into
   * shared memory with relaxed atomics, a byte at a time unless both sides have the same word
   * alignment (socket chunks and multipart parts seldom do), measured at 1–3 GB/s (issue 18);
   * `fill` with a source of the range's own length is one memcpy (15–77 GB/s on the same machines).
   */
  copyIn(slab: number, at: number, source: Buffer): void {
    if (source.length === 0) return;
    const start = this.offsetOf(slab) + at;
    this.buffer.fill(source, start, start + source.length);
  }

  /** A free slab, as soon as there is one (first come, first served); rejects when `signal` aborts first. */
  acquire(signal: AbortSignal): Promise<number> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const slab = this.tryAcquire();
    if (slab !== undefined) return Promise.resolve(slab);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = (slab) => {
        this.noteInUse();
        signal.removeEventListener('abort', onAbort);
        resolve(slab);
      };
      const onAbort = () => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** A free slab if there is one right now (none is free while anyone waits), without waiting. */
  tryAcquire(): number | undefined {
    const slab = this.free.pop();
    if (slab !== undefined) this.noteInUse();
    return slab;
  }

  release(slab: number): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(slab);
    else this.free.push(slab);
  }

  /** Slabs free right now (for tests and diagnostics). */
  get freeCount(): number {
    return this.free.length;
  }

  /** Whether an acquirer is waiting for a slab. */
  get hasWaiters(): boolean {
    return this.waiters.length > 0;
  }

  /** The most slabs ever in use at once (for tests and diagnostics): never above `count`. */
  get mostInUse(): number {
    return this.most;
  }

  private noteInUse(): void {
    this.most = Math.max(this.most, this.count - this.free.length);
  }
}

/** The WebAssembly global's memory (the DOM library, which declares WebAssembly, is not in this project's types). */
const { Memory: WasmMemory } = (
  globalThis as unknown as {
    WebAssembly: { Memory: new (pages: { initial: number; maximum: number; shared: true }) => { buffer: SharedArrayBuffer } };
  }
).WebAssembly;

/**
 * `bytes` of shared memory. A shared WebAssembly memory is a SharedArrayBuffer that V8 maps on
 * a page boundary of its own; a plain SharedArrayBuffer comes from malloc, 16 bytes past one,
 * which O_DIRECT refuses (EINVAL).
 */
function sharedMemory(bytes: number): { memory: SharedArrayBuffer; isPageAligned: boolean } {
  if (bytes === 0 || bytes % WASM_PAGE_BYTES !== 0) return { memory: new SharedArrayBuffer(bytes), isPageAligned: false };
  const pages = bytes / WASM_PAGE_BYTES;
  return { memory: new WasmMemory({ initial: pages, maximum: pages, shared: true }).buffer, isPageAligned: true };
}
