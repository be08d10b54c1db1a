import type { Knex } from 'knex';

/** A resumable upload as the services see it (migration 202612030200_resumable_uploads). */
export interface ResumableUploadRecord {
  id: string;
  userId: number;
  filename: string;
  contentType: string;
  expectedSha256: string | null;
  metadata: string;
  length: number;
  /** Bytes durable so far. */
  received: number;
  /** The saved SHA-256 state at `received`, base64. */
  hashState: string;
  storeKey: string;
  storeState: string;
  createdAt: number;
  expiresAt: number;
}

/** What a checkpoint saves: the durable point of the bytes, and the hash and store state there. */
export interface ResumableProgress {
  received: number;
  hashState: string;
  storeState: string;
  expiresAt: number;
}

type Row = Record<string, unknown>;

const toRecord = (row: Row): ResumableUploadRecord => ({
  id: String(row.id),
  userId: Number(row.user_id),
  filename: String(row.filename),
  contentType: String(row.content_type),
  expectedSha256: row.expected_sha256 === null ? null : String(row.expected_sha256),
  metadata: String(row.metadata),
  length: Number(row.length),
  received: Number(row.received),
  hashState: String(row.hash_state),
  storeKey: String(row.store_key),
  storeState: String(row.store_state),
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
});

/** Rows of resumable_uploads; a lease (token and deadline) serializes the writers of one upload. */
export class ResumableUploadRepository {
  constructor(private readonly db: Knex) {}

  async insert(upload: Omit<ResumableUploadRecord, 'received'> & { received?: number }): Promise<void> {
    await this.db('resumable_uploads').insert({
      id: upload.id,
      user_id: upload.userId,
      filename: upload.filename,
      content_type: upload.contentType,
      expected_sha256: upload.expectedSha256,
      metadata: upload.metadata,
      length: upload.length,
      received: upload.received ?? 0,
      hash_state: upload.hashState,
      store_key: upload.storeKey,
      store_state: upload.storeState,
      created_at: upload.createdAt,
      expires_at: upload.expiresAt,
    });
  }

  /** The user's upload `id`, unless it expired at `now` (an expired one waits for the sweep). */
  async findOwned(userId: number, id: string, now: number): Promise<ResumableUploadRecord | undefined> {
    const row = await this.db('resumable_uploads').where({ id, user_id: userId }).andWhere('expires_at', '>', now).first();
    return row ? toRecord(row) : undefined;
  }

  /** The user's uploads not yet finished nor expired, counted with the user's row locked (one creation at a time). */
  async countUnfinished(userId: number, now: number): Promise<number> {
    await this.db('users').where('id', userId).forUpdate().first('id');
    const row = await this.db('resumable_uploads').where('user_id', userId).andWhere('expires_at', '>', now).count({ count: '*' }).first();
    return Number(row?.count ?? 0);
  }

  /** Takes the lease of `id` when nobody holds it (or its holder's lease ran out); returns whether it did. */
  async takeLease(id: string, token: string, now: number, until: number): Promise<boolean> {
    const changed = await this.db('resumable_uploads')
      .where('id', id)
      .andWhere((free) => free.whereNull('lease_until').orWhere('lease_until', '<=', now))
      .update({ lease_token: token, lease_until: until, release_requested: false });
    return changed === 1;
  }

  /** Asks the holder of the lease of `id` to let go (see renewLease). */
  async requestRelease(id: string): Promise<void> {
    await this.db('resumable_uploads').where('id', id).whereNotNull('lease_token').update({ release_requested: true });
  }

  /** Extends a lease still held and not asked for; returns whether it was (false: stop, and let go). */
  async renewLease(id: string, token: string, until: number): Promise<boolean> {
    const changed = await this.db('resumable_uploads')
      .where({ id, lease_token: token, release_requested: false })
      .update({ lease_until: until });
    return changed === 1;
  }

  async releaseLease(id: string, token: string): Promise<void> {
    await this.db('resumable_uploads')
      .where({ id, lease_token: token })
      .update({ lease_token: null, lease_until: null, release_requested: false });
  }

  /** Saves a durable point under the lease; returns false when the lease is no longer held (the upload was ended meanwhile). */
  async checkpoint(id: string, token: string, progress: ResumableProgress, leaseUntil: number): Promise<boolean> {
    const changed = await this.db('resumable_uploads').where({ id, lease_token: token }).update({
      received: progress.received,
      hash_state: progress.hashState,
      store_state: progress.storeState,
      expires_at: progress.expiresAt,
      lease_until: leaseUntil,
    });
    return changed === 1;
  }

  /** Removes the row (under the lease, when `token` is given); returns whether it was there. */
  async delete(id: string, token?: string): Promise<boolean> {
    const query = this.db('resumable_uploads').where('id', id);
    if (token !== undefined) query.andWhere('lease_token', token);
    return (await query.delete()) === 1;
  }

  /** Up to `limit` uploads expired at `now`. */
  async expired(now: number, limit: number): Promise<ResumableUploadRecord[]> {
    const rows = await this.db('resumable_uploads').where('expires_at', '<=', now).orderBy('expires_at').limit(limit);
    return rows.map(toRecord);
  }

  /** Which of `storeKeys` an upload in progress is writing (the S3 store's sweep must leave them). */
  async activeStoreKeys(storeKeys: string[]): Promise<Set<string>> {
    if (storeKeys.length === 0) return new Set();
    const rows = await this.db('resumable_uploads').whereIn('store_key', storeKeys).select('store_key');
    return new Set(rows.map((row: { store_key: string }) => String(row.store_key)));
  }
}
