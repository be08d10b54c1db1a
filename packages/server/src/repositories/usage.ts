import type { Knex } from 'knex';

export interface Usage {
  files: number;
  bytes: number;
}

/**
 * Files owned and the bytes they hold, per user (`user_usage`): changed in the transaction that
 * changes the files, so `/me` reads one row. Every change comes last in its transaction and
 * touches rows in ascending user id order, so that these row locks never close a cycle.
 */
export class UsageRepository {
  constructor(private readonly db: Knex) {}

  async create(userId: number): Promise<void> {
    await this.db('user_usage').insert({ user_id: userId, file_count: 0, byte_count: 0 });
  }

  async find(userId: number): Promise<Usage> {
    const row = await this.db('user_usage').where('user_id', userId).first('file_count', 'byte_count');
    return { files: Number(row?.file_count ?? 0), bytes: Number(row?.byte_count ?? 0) };
  }

  async change(userId: number, change: Usage): Promise<void> {
    if (change.files === 0 && change.bytes === 0) return;
    await this.db('user_usage')
      .where('user_id', userId)
      .update({
        file_count: this.db.raw('file_count + ?', [change.files]),
        byte_count: this.db.raw('byte_count + ?', [change.bytes]),
      });
  }

  /** One file of `bytes` changes owner. */
  async move(fromUserId: number, toUserId: number, bytes: number): Promise<void> {
    const changes = [
      { userId: fromUserId, change: { files: -1, bytes: -bytes } },
      { userId: toUserId, change: { files: 1, bytes } },
    ].sort((a, b) => a.userId - b.userId);
    for (const { userId, change } of changes) await this.change(userId, change);
  }
}
