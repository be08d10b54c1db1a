import { AppError } from '../errors.js';
import type { LoginFailureRepository } from '../repositories/login-failures.js';
import { usernameKey } from '../repositories/users.js';

const WINDOW_MS = 15 * 60 * 1000;
const USERNAME_LIMIT = 10;
const ADDRESS_LIMIT = 100;

/**
 * API.md's failed-login rule: 10 failures per lower-cased username, or 100 per client address,
 * in a sliding 15-minute window refuse every further attempt until the oldest counted failure
 * leaves the window. Unknown usernames are counted like existing ones.
 */
export class LoginLimits {
  constructor(
    private readonly failures: LoginFailureRepository,
    private readonly clock: () => number = Date.now,
  ) {}

  async check(username: string, address: string): Promise<void> {
    const now = this.clock();
    const windowStart = now - WINDOW_MS;
    const [byName, byAddress] = await Promise.all([
      this.failures.blockedUntil('username_key', failureKey(username), windowStart, WINDOW_MS, USERNAME_LIMIT),
      this.failures.blockedUntil('address', address, windowStart, WINDOW_MS, ADDRESS_LIMIT),
    ]);
    const until = Math.max(byName ?? 0, byAddress ?? 0);
    if (until > 0) {
      const seconds = Math.max(1, Math.ceil((until - now) / 1000));
      throw new AppError('RATE_LIMITED', `too many failed logins, try again in ${seconds} seconds`, {}, { 'retry-after': String(seconds) });
    }
  }

  async recordFailure(username: string, address: string): Promise<void> {
    const now = this.clock();
    await this.failures.record(failureKey(username), address, now);
    await this.failures.deleteOlderThan(now - WINDOW_MS);
  }
}

/** Counted like usernames are compared; cut to the column's width (any text may be tried). */
function failureKey(username: string): string {
  return usernameKey(username).slice(0, 255);
}
