import type { Knex } from 'knex';

/** Failed logins, counted in the database so that every server process sees the same count. */
export class LoginFailureRepository {
  constructor(private readonly db: Knex) {}

  async record(usernameKey: string, address: string, now: number): Promise<void> {
    await this.db('login_failures').insert({ username_key: usernameKey, address, failed_at: now });
  }

  /**
   * The moment the given key falls back under `limit` failures since `windowStart`,
   * or null when it is under the limit now.
   */
  async blockedUntil(
    column: 'username_key' | 'address',
    key: string,
    windowStart: number,
    windowMs: number,
    limit: number,
  ): Promise<number | null> {
    const recent = this.db('login_failures').where(column, key).andWhere('failed_at', '>', windowStart);
    const { count } = (await recent.clone().count({ count: '*' }).first()) as { count: number | string };
    const failures = Number(count);
    if (failures < limit) return null;
    // The block lifts when enough of the oldest failures have left the window.
    const row = await recent
      .clone()
      .select('failed_at')
      .orderBy('failed_at', 'asc')
      .offset(failures - limit)
      .limit(1)
      .first();
    return Number(row.failed_at) + windowMs;
  }

  async deleteOlderThan(windowStart: number): Promise<void> {
    await this.db('login_failures').where('failed_at', '<=', windowStart).delete();
  }
}
