import type { Knex } from 'knex';
import { inTransaction } from './transaction.js';
import { blockedUntil, lockKeys } from './window-counts.js';

/** Re-hashes asked for per user (VERIFY_LIMIT), counted in the database like registrations. */
export class VerifyRequestRepository {
  constructor(private readonly db: Knex) {}

  /** Adds the request's row unless the user has reached `limit`; else the moment the block lifts. */
  reserve(userId: number, now: number, windowMs: number, limit: number): Promise<{ id: number } | { blockedUntil: number }> {
    return inTransaction(this.db, async (trx) => {
      await lockKeys(trx, [`verify user ${userId}`], now);
      const until = await blockedUntil(trx, {
        table: 'verify_requests',
        column: 'user_id',
        key: String(userId),
        timeColumn: 'requested_at',
        windowStart: now - windowMs,
        windowMs,
        limit,
      });
      if (until !== null) return { blockedUntil: until };
      const [id] = await trx('verify_requests').insert({ user_id: userId, requested_at: now });
      return { id: Number(id) };
    });
  }

  async deleteOlderThan(windowStart: number): Promise<void> {
    await this.db('verify_requests').where('requested_at', '<=', windowStart).delete();
  }
}
