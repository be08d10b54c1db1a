import { AppError } from '../errors.js';

/**
 * How many uploads each user has in flight (API.md: at most UPLOADS_PER_USER, then 429).
 * Counted in this process: right for one instance; several instances would each allow as many.
 */
export class UploadSlots {
  private readonly inFlight = new Map<number, number>();

  constructor(private readonly perUser: number) {}

  /** Takes one of the user's slots, or throws RATE_LIMITED; returns the function that gives it back (once). */
  take(userId: number): () => void {
    const count = this.inFlight.get(userId) ?? 0;
    if (count >= this.perUser) {
      throw new AppError(
        'RATE_LIMITED',
        `at most ${this.perUser} uploads of one user at once; retry when one finishes`,
        {},
        { 'retry-after': '1' },
      );
    }
    this.inFlight.set(userId, count + 1);
    let isReturned = false;
    return () => {
      if (isReturned) return;
      isReturned = true;
      const left = (this.inFlight.get(userId) ?? 1) - 1;
      if (left === 0) this.inFlight.delete(userId);
      else this.inFlight.set(userId, left);
    };
  }
}
