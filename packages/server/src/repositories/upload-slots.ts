import type { Knex } from 'knex';
import { inTransaction } from './transaction.js';
import { lockKeys } from './window-counts.js';

/** Rows per renewal statement. */
const RENEW_BATCH = 500;

/** Uploads in flight, counted in the database so that every server process sees the same count. */
export class UploadSlotRepository {
  constructor(private readonly db: Knex) {}

  /**
   * A new slot of `userId`, leased until `leaseUntil`, unless `limit` slots of theirs have
   * unexpired leases: counted and added in one transaction under the user's key lock, so that
   * uploads arriving together at several instances are counted one after the other. Null when
   * none is left. Slots whose lease ran out (their instance died) are removed on the way.
   */
  take(userId: number, limit: number, now: number, leaseUntil: number): Promise<number | null> {
    return inTransaction(this.db, async (trx) => {
      await lockKeys(trx, [`upload slots ${userId}`], now);
      // Found first, then deleted by id: a delete by range would lock the gap after the user's
      // last slot, where the previous user's new slots go (MySQL), and deadlock with their take.
      const expired = await trx('upload_slots').where('user_id', userId).andWhere('lease_until', '<=', now).pluck('id');
      if (expired.length > 0) await trx('upload_slots').whereIn('id', expired).delete();
      const { slots } = (await trx('upload_slots').where('user_id', userId).count({ slots: '*' }).first()) as { slots: number | string };
      if (Number(slots) >= limit) return null;
      const [id] = await trx('upload_slots').insert({ user_id: userId, lease_until: leaseUntil });
      return Number(id);
    });
  }

  async release(id: number): Promise<void> {
    await this.db('upload_slots').where('id', id).delete();
  }

  /** Extends the leases of `ids` to `leaseUntil`. */
  async renew(ids: number[], leaseUntil: number): Promise<void> {
    for (let start = 0; start < ids.length; start += RENEW_BATCH) {
      await this.db('upload_slots')
        .whereIn('id', ids.slice(start, start + RENEW_BATCH))
        .update({ lease_until: leaseUntil });
    }
  }

  /** Removes the slots whose lease ran out. */
  async deleteExpired(now: number): Promise<void> {
    await this.db('upload_slots').where('lease_until', '<=', now).delete();
  }
}
