import type { Knex } from 'knex';

export interface StorageStats {
  users: number;
  files: number;
  /** Distinct contents that some file points at. */
  contents: number;
  /** The sum of every file's size. */
  logicalBytes: number;
  /** The bytes stored: each content once. */
  physicalBytes: number;
}

/** Whole-server totals for the operator (`pnpm admin stats`): full scans, never for requests. */
export class StatsRepository {
  constructor(private readonly db: Knex) {}

  async storage(): Promise<StorageStats> {
    const users = await this.db('users').count({ count: '*' }).first();
    const usage = await this.db('user_usage').sum({ files: 'file_count', bytes: 'byte_count' }).first();
    const contents = await this.db('blobs').where('ref_count', '>', 0).count({ count: '*' }).sum({ bytes: 'size' }).first();
    return {
      users: Number(users?.count ?? 0),
      files: Number(usage?.files ?? 0),
      contents: Number(contents?.count ?? 0),
      logicalBytes: Number(usage?.bytes ?? 0),
      physicalBytes: Number(contents?.bytes ?? 0),
    };
  }
}
