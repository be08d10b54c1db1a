import type { RegistrationRepository } from '../repositories/registrations.js';
import { rateLimited } from './login-limits.js';

const WINDOW_MS = 60 * 60 * 1000;

/**
 * At most `limit` new accounts per client address over a sliding hour (REGISTER_LIMIT; 0 = no
 * limit). A registration counts from the moment it arrives, so that registrations sent all at
 * once make no more accounts than ones sent one by one; one that makes no account is taken back.
 */
export class RegistrationLimits {
  constructor(
    private readonly registrations: RegistrationRepository,
    private readonly limit: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Counts the registration, or refuses it with 429; returns the reservation (null: no limit). */
  async reserve(address: string): Promise<number | null> {
    if (this.limit === 0) return null;
    const now = this.clock();
    await this.registrations.deleteOlderThan(now - WINDOW_MS);
    const reservation = await this.registrations.reserve(address, now, WINDOW_MS, this.limit);
    if ('id' in reservation) return reservation.id;
    throw rateLimited('too many new accounts from your address', reservation.blockedUntil - now);
  }

  async release(reservation: number | null): Promise<void> {
    if (reservation !== null) await this.registrations.release(reservation);
  }
}
