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
      // A random pause, growing with each attempt, so that the racers do not collide again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * 2 ** attempt));
    }
  }
}
