import { createHash } from 'node:crypto';
import type { Knex } from 'knex';

/** Rows of `key_locks`, made by its migration (202612021000); every key hashes onto one of them. */
const KEY_LOCK_STRIPES = 64;

/**
 * Serialises, across every server process, the transactions that count and add attempts for
 * the same keys: each first takes the row lock of every key's stripe, in ascending order so that
 * no two transactions wait for each other in a cycle. (On SQLite the first write takes the
 * database's write lock, which serialises them all.) Unrelated keys that share a stripe wait
 * for each other only for the few statements of a count.
 */
export async function lockKeys(trx: Knex.Transaction, keys: string[], now: number): Promise<void> {
  const stripes = [...new Set(keys.map(stripeOf))].sort((a, b) => a - b);
  for (const stripe of stripes) {
    const updated = await trx('key_locks').where('stripe', stripe).update({ locked_at: now });
    if (updated !== 1) throw new Error(`key_locks has no stripe ${stripe}`);
  }
}

function stripeOf(key: string): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) % KEY_LOCK_STRIPES;
}

export interface WindowCount {
  table: string;
  column: string;
  key: string;
  timeColumn: string;
  windowStart: number;
  windowMs: number;
  limit: number;
}

/**
 * The moment the rows of `key` since `windowStart` fall back under `limit`, or null when they
 * are under it now.
 */
export async function blockedUntil(db: Knex | Knex.Transaction, count: WindowCount): Promise<number | null> {
  const recent = db(count.table).where(count.column, count.key).andWhere(count.timeColumn, '>', count.windowStart);
  const { rows } = (await recent.clone().count({ rows: '*' }).first()) as { rows: number | string };
  const total = Number(rows);
  if (total < count.limit) return null;
  // The block lifts when enough of the oldest rows have left the window.
  const row = await recent
    .clone()
    .select(count.timeColumn)
    .orderBy(count.timeColumn, 'asc')
    .offset(total - count.limit)
    .limit(1)
    .first();
  return Number(row[count.timeColumn]) + count.windowMs;
}
