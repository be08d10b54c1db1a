import type { Knex } from 'knex';
import { inTransaction } from './transaction.js';
import { blockedUntil, lockKeys } from './window-counts.js';

export interface LoginWindow {
  windowMs: number;
  usernameLimit: number;
  addressLimit: number;
}

/**
 * Login attempts, counted in the database so that every server process sees the same count.
 * A row is added when an attempt arrives (a reservation), before its password is checked; it
 * stays as a counted failure, or is removed when the password was right.
 */
export class LoginFailureRepository {
  constructor(private readonly db: Knex) {}

  /**
   * Adds the attempt's row unless its username or its address has reached its limit, counted
   * and added in one transaction under both keys' locks: attempts that arrive together are
   * counted one after the other. Returns the row's id, or the moment the block lifts.
   */
  reserve(usernameKey: string, address: string, now: number, window: LoginWindow): Promise<{ id: number } | { blockedUntil: number }> {
    const windowStart = now - window.windowMs;
    const count = { table: 'login_failures', timeColumn: 'failed_at', windowStart, windowMs: window.windowMs };
    return inTransaction(this.db, async (trx) => {
      await lockKeys(trx, [`login username ${usernameKey}`, `login address ${address}`], now);
      const byName = await blockedUntil(trx, { ...count, column: 'username_key', key: usernameKey, limit: window.usernameLimit });
      const byAddress = await blockedUntil(trx, { ...count, column: 'address', key: address, limit: window.addressLimit });
      if (byName !== null || byAddress !== null) return { blockedUntil: Math.max(byName ?? 0, byAddress ?? 0) };
      const [id] = await trx('login_failures').insert({ username_key: usernameKey, address, failed_at: now });
      return { id: Number(id) };
    });
  }

  async release(id: number): Promise<void> {
    await this.db('login_failures').where('id', id).delete();
  }

  async deleteOlderThan(windowStart: number): Promise<void> {
    await this.db('login_failures').where('failed_at', '<=', windowStart).delete();
  }
}
