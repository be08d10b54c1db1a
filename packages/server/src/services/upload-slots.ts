import { AppError } from '../errors.js';
import type { UploadSlotRepository } from '../repositories/upload-slots.js';

/**
 * How many uploads each user has in flight (API.md: at most UPLOADS_PER_USER, then 429).
 * `take` decides before the body is read; the function it returns gives the slot back (once).
 */
export interface UploadSlots {
  take(userId: number): Promise<() => void>;
  /** Gives back every slot still held (the server is closing). */
  close(): Promise<void>;
}

function noSlotLeft(perUser: number): AppError {
  return new AppError(
    'RATE_LIMITED',
    `at most ${perUser} uploads of one user at once; retry when one finishes`,
    {},
    { 'retry-after': '1' },
  );
}

/** A function that does its work the first time it is called, and nothing after. */
function once(work: () => void): () => void {
  let isDone = false;
  return () => {
    if (isDone) return;
    isDone = true;
    work();
  };
}

/** Counted in this process: for one instance (SQLite), where no other process serves the users. */
export class ProcessUploadSlots implements UploadSlots {
  private readonly inFlight = new Map<number, number>();

  constructor(private readonly perUser: number) {}

  async take(userId: number): Promise<() => void> {
    const count = this.inFlight.get(userId) ?? 0;
    if (count >= this.perUser) throw noSlotLeft(this.perUser);
    this.inFlight.set(userId, count + 1);
    return once(() => {
      const left = (this.inFlight.get(userId) ?? 1) - 1;
      if (left === 0) this.inFlight.delete(userId);
      else this.inFlight.set(userId, left);
    });
  }

  async close(): Promise<void> {}
}

export interface SharedUploadSlotsOptions {
  perUser: number;
  /** How long a slot stays taken after its instance stops renewing it (it died). */
  leaseMs: number;
  /** A slot not given back or renewed (the database was away): its lease runs out, or is renewed next time. */
  onError: (error: unknown, what: string) => void;
  clock?: () => number;
}

/**
 * Counted in the database (MySQL/MariaDB), where several instances serve the same users: each
 * upload holds a row with a lease that this instance renews every third of the lease while the
 * upload lasts. A slot is given back when its upload ends; should the instance die first, its
 * slots count only until their leases run out.
 */
export class SharedUploadSlots implements UploadSlots {
  private readonly held = new Set<number>();
  private readonly timer: NodeJS.Timeout;
  private readonly clock: () => number;

  constructor(
    private readonly slots: UploadSlotRepository,
    private readonly options: SharedUploadSlotsOptions,
  ) {
    this.clock = options.clock ?? Date.now;
    this.timer = setInterval(
      () => {
        this.renew().catch((error: unknown) => options.onError(error, 'renewing upload slots'));
      },
      Math.max(1, Math.floor(options.leaseMs / 3)),
    );
    this.timer.unref();
  }

  async take(userId: number): Promise<() => void> {
    const now = this.clock();
    const id = await this.slots.take(userId, this.options.perUser, now, now + this.options.leaseMs);
    if (id === null) throw noSlotLeft(this.options.perUser);
    this.held.add(id);
    return once(() => {
      // No longer renewed from here on: should the delete fail, the lease runs out.
      this.held.delete(id);
      this.slots.release(id).catch((error: unknown) => this.options.onError(error, 'giving an upload slot back'));
    });
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    const ids = [...this.held];
    this.held.clear();
    for (const id of ids) await this.slots.release(id).catch((error: unknown) => this.options.onError(error, 'giving an upload slot back'));
  }

  private async renew(): Promise<void> {
    const now = this.clock();
    if (this.held.size > 0) await this.slots.renew([...this.held], now + this.options.leaseMs);
    await this.slots.deleteExpired(now);
  }
}
