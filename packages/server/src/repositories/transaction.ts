import type { Knex } from 'knex';
import { isRetryable } from './db-errors.js';

const ATTEMPTS = 5;

/**
 * Runs `work` in a transaction, again when it lost a race (a deadlock, or a unique key that a
 * concurrent transaction took first): the next attempt sees the winner's rows.
 */
export async function inTransaction<T>(db: Knex, work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(work);
    } catch (error) {
      if (attempt >= ATTEMPTS || !isRetryable(error)) throw error;
    }
  }
}
