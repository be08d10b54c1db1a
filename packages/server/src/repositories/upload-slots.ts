import type { Knex } from 'knex';
import { inTransaction } from './transaction.js';
import { lockKeys } from './window-counts.js';

/** Rows per statement that names them by id. */
const BATCH = 500;

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
      await deleteExpiredSlots(trx, now, userId);
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
    await inBatches(ids, (batch) => this.db('upload_slots').whereIn('id', batch).update({ lease_until: leaseUntil }));
  }

  /** Removes the slots whose lease ran out. */
  deleteExpired(now: number): Promise<void> {
    return deleteExpiredSlots(this.db, now);
  }
}

/**
 * Removes the expired slots (of `userId` only, when given): found by a plain read, then deleted
 * by id (still only if expired: a lease renewed meanwhile stays). A delete by range would lock
 * every gap it scanned (MySQL), among them those where other users' new slots go, and deadlock
 * with their `take`.
 */
async function deleteExpiredSlots(db: Knex, now: number, userId?: number): Promise<void> {
  const query = db('upload_slots').where('lease_until', '<=', now);
  if (userId !== undefined) query.andWhere('user_id', userId);
  const expired: number[] = await query.pluck('id');
  await inBatches(expired, (batch) => db('upload_slots').whereIn('id', batch).andWhere('lease_until', '<=', now).delete());
}

async function inBatches(ids: number[], work: (batch: number[]) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < ids.length; start += BATCH) await work(ids.slice(start, start + BATCH));
}
