import type { Knex } from 'knex';
import { dialectOf } from '../db/open.js';

export interface Usage {
  files: number;
  bytes: number;
}

/** A change of one user's counts; `exclusiveBytes`: contents that the user alone owns (content-owners.ts). */
export interface UsageChange extends Usage {
  exclusiveBytes?: number;
}

/** What `/me` reports about storage: the user's files' sizes, and their share of what is physically stored. */
export interface Accounting extends Usage {
  storedBytes: number;
}

/** Refuses a change that leaves a user above the quota (called after the change, inside its transaction). */
export interface QuotaCheck {
  bytes: number;
  refuse(userId: number, bytesAfter: number): Error;
}

/**
 * Files owned and the bytes they hold, per user (`user_usage`): changed in the transaction that
 * changes the files, so `/me` reads one row. Every change comes last in its transaction and
 * touches rows in ascending user id order (`UsageLedger`), so that these row locks never close a cycle.
 */
export class UsageRepository {
  constructor(private readonly db: Knex) {}

  async create(userId: number): Promise<void> {
    await this.db('user_usage').insert({ user_id: userId, file_count: 0, byte_count: 0, exclusive_bytes: 0 });
  }

  async find(userId: number): Promise<Usage> {
    const row = await this.db('user_usage').where('user_id', userId).first('file_count', 'byte_count');
    return { files: Number(row?.file_count ?? 0), bytes: Number(row?.byte_count ?? 0) };
  }

  /**
   * The counts and the user's share of physical storage: the contents they alone own, whole
   * (kept), plus an equal share of each content they own with others, the integer division's
   * remainder going to its owner of lowest user id. That second part reads the user's co-owned
   * contents only (index content_owners(user_id, is_shared)), never their other files.
   */
  async accounting(userId: number): Promise<Accounting> {
    const row = await this.db('user_usage').where('user_id', userId).first('file_count', 'byte_count', 'exclusive_bytes');
    const divide = dialectOf(this.db) === 'mysql' ? 'div' : '/';
    const first = this.db('content_owners as others').min('others.user_id').where('others.blob_id', this.db.ref('content_owners.blob_id'));
    const shares = await this.db('content_owners')
      .join('blobs', 'blobs.id', 'content_owners.blob_id')
      .where({ 'content_owners.user_id': userId, 'content_owners.is_shared': true })
      .first(
        this.db.raw(
          `coalesce(sum(blobs.size ${divide} blobs.owner_count + case when content_owners.user_id = (?) then blobs.size % blobs.owner_count else 0 end), 0) as bytes`,
          [first],
        ),
      );
    return {
      files: Number(row?.file_count ?? 0),
      bytes: Number(row?.byte_count ?? 0),
      storedBytes: Number(row?.exclusive_bytes ?? 0) + Number(shares?.bytes ?? 0),
    };
  }

  async change(userId: number, change: UsageChange): Promise<void> {
    const exclusiveBytes = change.exclusiveBytes ?? 0;
    if (change.files === 0 && change.bytes === 0 && exclusiveBytes === 0) return;
    await this.db('user_usage')
      .where('user_id', userId)
      .update({
        file_count: this.db.raw('file_count + ?', [change.files]),
        byte_count: this.db.raw('byte_count + ?', [change.bytes]),
        exclusive_bytes: this.db.raw('exclusive_bytes + ?', [exclusiveBytes]),
      });
  }
}

/**
 * The usage changes of one transaction, gathered while it changes files and applied at its end
 * in ascending user id order. With a quota, a user whose bytes grew and now exceed it fails the
 * transaction (the change is read back under the row lock that the update took, so two uploads
 * at once cannot both slip under it).
 */
export class UsageLedger {
  private readonly changes = new Map<number, Required<UsageChange>>();

  add(userId: number, change: UsageChange): this {
    const current = this.changes.get(userId) ?? { files: 0, bytes: 0, exclusiveBytes: 0 };
    current.files += change.files;
    current.bytes += change.bytes;
    current.exclusiveBytes += change.exclusiveBytes ?? 0;
    this.changes.set(userId, current);
    return this;
  }

  async apply(db: Knex, quota?: QuotaCheck | null): Promise<void> {
    const usage = new UsageRepository(db);
    for (const [userId, change] of [...this.changes].sort(([a], [b]) => a - b)) {
      await usage.change(userId, change);
      if (!quota || change.bytes <= 0) continue;
      const { bytes } = await usage.find(userId);
      if (bytes > quota.bytes) throw quota.refuse(userId, bytes);
    }
    this.changes.clear();
  }
}
