import type { Knex } from 'knex';
import type { BlobStore } from '../store/blob-store.js';

/** Whether the database and the content store answer. */
export class HealthService {
  constructor(
    private readonly db: Knex,
    private readonly store: BlobStore,
  ) {}

  async problem(): Promise<string | null> {
    try {
      await this.db.raw('select 1');
    } catch {
      return 'the database is unavailable';
    }
    if (!(await this.store.isAvailable())) return 'the storage is unavailable';
    return null;
  }
}
