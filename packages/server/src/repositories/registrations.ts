import type { Knex } from 'knex';
import { inTransaction } from './transaction.js';
import { blockedUntil, lockKeys } from './window-counts.js';

/**
 * Accounts registered per client address, counted in the database like login attempts: a row is
 * added when a registration arrives and removed when it makes no account.
 */
export class RegistrationRepository {
  constructor(private readonly db: Knex) {}

  /** Adds the registration's row unless `address` has reached `limit`; the row's id, or the moment the block lifts. */
  reserve(address: string, now: number, windowMs: number, limit: number): Promise<{ id: number } | { blockedUntil: number }> {
    return inTransaction(this.db, async (trx) => {
      await lockKeys(trx, [`register address ${address}`], now);
      const until = await blockedUntil(trx, {
        table: 'registrations',
        column: 'address',
        key: address,
        timeColumn: 'registered_at',
        windowStart: now - windowMs,
        windowMs,
        limit,
      });
      if (until !== null) return { blockedUntil: until };
      const [id] = await trx('registrations').insert({ address, registered_at: now });
      return { id: Number(id) };
    });
  }

  async release(id: number): Promise<void> {
    await this.db('registrations').where('id', id).delete();
  }

  async deleteOlderThan(windowStart: number): Promise<void> {
    await this.db('registrations').where('registered_at', '<=', windowStart).delete();
  }
}
