/**
 * Keeps a stream of reads at `bytesPerSecond` over time: each `take(bytes)` waits until the
 * bytes before it have had their time. Time left unused while nothing was read is not saved up
 * beyond `creditMs`, so a scrub that was idle does not burst; that little credit absorbs the
 * database's time between two blobs.
 */
export class RatePacer {
  private next = 0;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly creditMs = 200,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  async take(bytes: number, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const now = this.clock();
    const start = Math.max(this.next, now - this.creditMs);
    this.next = start + (bytes * 1000) / this.bytesPerSecond;
    if (start > now) await sleep(start - now, signal);
  }
}

/** Waits `ms`, or rejects as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
