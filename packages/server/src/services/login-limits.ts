import { AppError } from '../errors.js';
import type { LoginFailureRepository } from '../repositories/login-failures.js';
import { usernameKey } from '../repositories/users.js';

const WINDOW = { windowMs: 15 * 60 * 1000, usernameLimit: 10, addressLimit: 100 };

/**
 * API.md's failed-login rule: 10 failures per lower-cased username, or 100 per client address,
 * in a sliding 15-minute window refuse every further attempt until the oldest counted failure
 * leaves the window. Unknown usernames are counted like existing ones. An attempt counts from
 * the moment it arrives (`reserve`), so that guesses sent all at once get no more password
 * checks than guesses sent one by one; a right password takes its reservation back.
 */
export class LoginLimits {
  constructor(
    private readonly failures: LoginFailureRepository,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Counts the attempt, or refuses it with 429; returns the reservation. */
  async reserve(username: string, address: string): Promise<number> {
    const now = this.clock();
    const reservation = await this.failures.reserve(failureKey(username), address, now, WINDOW);
    if ('id' in reservation) return reservation.id;
    throw rateLimited('too many failed logins', reservation.blockedUntil - now);
  }

  /** The password was wrong: the reservation stays, counted; older failures are forgotten. */
  async recordFailure(): Promise<void> {
    await this.failures.deleteOlderThan(this.clock() - WINDOW.windowMs);
  }

  /** The password was right, or was never checked: the attempt does not count. */
  release(reservation: number): Promise<void> {
    return this.failures.release(reservation);
  }
}

export function rateLimited(what: string, waitMs: number): AppError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new AppError('RATE_LIMITED', `${what}, try again in ${seconds} seconds`, {}, { 'retry-after': String(seconds) });
}

/** Counted like usernames are compared; cut to the column's width (any text may be tried). */
function failureKey(username: string): string {
  return usernameKey(username).slice(0, 255);
}
