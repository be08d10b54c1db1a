import type { Knex } from 'knex';
import { AppError } from '../errors.js';
import { isUniqueViolation } from './db-errors.js';
import { UsageRepository, type Accounting } from './usage.js';

export interface UserRow {
  id: number;
  username: string;
  password_hash: string;
}

/** The form in which usernames are unique and compared: without regard to case. */
export function usernameKey(username: string): string {
  return username.toLowerCase();
}

/** Accounts. Usernames are found without regard to case through `username_key`. */
export class UserRepository {
  constructor(private readonly db: Knex) {}

  async create(username: string, passwordHash: string, now: number): Promise<void> {
    try {
      await this.db.transaction(async (trx) => {
        const [id] = await trx('users').insert({
          username,
          username_key: usernameKey(username),
          password_hash: passwordHash,
          created_at: now,
        });
        await new UsageRepository(trx).create(Number(id));
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new AppError('USERNAME_TAKEN', `the username '${username}' is taken`);
      throw error;
    }
  }

  async setPasswordHash(userId: number, passwordHash: string): Promise<void> {
    await this.db('users').where('id', userId).update({ password_hash: passwordHash });
  }

  async findByName(username: string): Promise<UserRow | undefined> {
    return this.db('users').select('id', 'username', 'password_hash').where('username_key', usernameKey(username)).first();
  }

  /** Files owned, the sum of their sizes and the share of storage: kept counts (repositories/usage.ts), never summed over files. */
  async accounting(userId: number): Promise<Accounting> {
    return new UsageRepository(this.db).accounting(userId);
  }
}
