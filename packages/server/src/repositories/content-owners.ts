import type { Knex } from 'knex';
import { dialectOf } from '../db/open.js';
import type { UsageLedger } from './usage.js';

/**
 * Who owns each content (`content_owners`, `blobs.owner_count`): the distinct users owning at
 * least one file with that content, however many such files each has. Kept in the transaction
 * that changes the files; the content's blob row is locked first, so owner counts change one
 * transaction at a time. A user's `exclusive_bytes` (usage.ts) holds the contents they alone own:
 * when a second owner arrives the first one's sole ownership ends, and when the second-last leaves
 * the last one's begins, so each change touches at most one other user's usage.
 */
export class ContentOwnerRepository {
  private readonly isMysql: boolean;

  constructor(private readonly db: Knex) {
    this.isMysql = dialectOf(db) === 'mysql';
  }

  /** `userId` now owns `files` more files with this content. */
  async gain(blobId: number, userId: number, files: number, ledger: UsageLedger): Promise<void> {
    if (files === 0) return;
    const blob = await this.lockBlob(blobId);
    const others = blob.ownerCount;
    // Content nobody owns has no owner rows: no update to try. Tried, it would lock the gap where
    // the new row goes (MySQL, an update that finds nothing), and two uploads of new content,
    // each holding that gap and inserting into it, deadlocked (48 uploads at once, one 503).
    if (others > 0) {
      const updated = await this.db('content_owners')
        .where({ blob_id: blobId, user_id: userId })
        .update({ file_count: this.db.raw('file_count + ?', [files]) });
      if (updated > 0) return;
    }
    await this.db('content_owners').insert({ blob_id: blobId, user_id: userId, file_count: files, is_shared: others >= 1 });
    await this.db('blobs')
      .where('id', blobId)
      .update({ owner_count: others + 1 });
    if (others === 0) {
      ledger.add(userId, { files: 0, bytes: 0, exclusiveBytes: blob.size });
    } else if (others === 1) {
      const [previous] = await this.latest(this.db('content_owners').where('blob_id', blobId).whereNot('user_id', userId).pluck('user_id'));
      await this.db('content_owners').where({ blob_id: blobId, user_id: previous }).update({ is_shared: true });
      ledger.add(Number(previous), { files: 0, bytes: 0, exclusiveBytes: -blob.size });
    }
  }

  /** `userId` owns `files` fewer files with this content. */
  async lose(blobId: number, userId: number, files: number, ledger: UsageLedger): Promise<void> {
    if (files === 0) return;
    const blob = await this.lockBlob(blobId);
    const row = await this.latest(this.db('content_owners').where({ blob_id: blobId, user_id: userId }).first('file_count'));
    const remaining = Number(row?.file_count ?? 0) - files;
    if (remaining > 0) {
      await this.db('content_owners').where({ blob_id: blobId, user_id: userId }).update({ file_count: remaining });
      return;
    }
    await this.db('content_owners').where({ blob_id: blobId, user_id: userId }).delete();
    const others = blob.ownerCount - 1;
    await this.db('blobs').where('id', blobId).update({ owner_count: others });
    if (others === 0) {
      ledger.add(userId, { files: 0, bytes: 0, exclusiveBytes: -blob.size });
    } else if (others === 1) {
      const [last] = await this.latest(this.db('content_owners').where('blob_id', blobId).pluck('user_id'));
      await this.db('content_owners').where({ blob_id: blobId, user_id: last }).update({ is_shared: false });
      ledger.add(Number(last), { files: 0, bytes: 0, exclusiveBytes: blob.size });
    }
  }

  /**
   * The rows as last committed, locked (MySQL): a plain read may come from the transaction's
   * snapshot, older than an owner that a concurrent transaction added while this one waited for
   * the blob's lock. SQLite runs one transaction at a time.
   */
  private latest<T extends Knex.QueryBuilder>(query: T): T {
    return this.isMysql ? (query.forUpdate() as T) : query;
  }

  private async lockBlob(blobId: number): Promise<{ size: number; ownerCount: number }> {
    const query = this.db('blobs').where('id', blobId).first('size', 'owner_count');
    const row = await (this.isMysql ? query.forUpdate() : query);
    return { size: Number(row.size), ownerCount: Number(row.owner_count) };
  }
}
