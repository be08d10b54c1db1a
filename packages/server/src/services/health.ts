import { access, constants } from 'node:fs/promises';
import type { Knex } from 'knex';

/** Whether the database and the data directory answer. */
export class HealthService {
  constructor(
    private readonly db: Knex,
    private readonly dataDir: string,
  ) {}

  async problem(): Promise<string | null> {
    try {
      await this.db.raw('select 1');
    } catch {
      return 'the database is unavailable';
    }
    try {
      await access(this.dataDir, constants.W_OK);
    } catch {
      return 'the storage is unavailable';
    }
    return null;
  }
}
