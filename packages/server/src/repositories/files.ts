import { ContentOwnerRepository } from './content-owners.js';
import { UsageLedger } from './usage.js';
import type { Knex } from 'knex';
import { dialectOf } from '../db/open.js';

/** A file as the services see it: its row, its owner's name and its content. */
export interface FileRecord {
  id: number;
  ownerId: number;
  ownerName: string;
  filename: string;
  blobId: number;
  sha256: string;
  size: number;
  contentType: string;
  createdAt: number;
  updatedAt: number;
  /** The content is quarantined: its stored bytes no longer match its digest. */
  isDamaged: boolean;
}

export interface BlobRecord {
  id: number;
  sha256: string;
  size: number;
  refCount: number;
  isDamaged: boolean;
  /** Times the bytes were stored anew under this row (repair, heal): see the content_scrub migration. */
  generation: number;
}

/** Rows per INSERT: 6 columns a row stays under SQLite's 32 766 bound parameters. */
const BULK_ROWS = 5000;

/** Many files of one owner with the same content, for `insertManyFiles`. */
export interface BulkFiles {
  ownerId: number;
  /** The owner's usernameKey, as file_access keeps it. */
  ownerKey: string;
  blobId: number;
  contentType: string;
  filenames: string[];
  now: number;
  /** Users each file is shared with. */
  friendIds?: number[];
}

const FILE_COLUMNS = [
  'files.id as id',
  'files.owner_id as ownerId',
  'users.username as ownerName',
  'files.filename as filename',
  'files.blob_id as blobId',
  'blobs.sha256 as sha256',
  'blobs.size as size',
  'files.content_type as contentType',
  'files.created_at as createdAt',
  'files.updated_at as updatedAt',
  'blobs.damaged_at as damagedAt',
];

/**
 * FILE_COLUMNS in SQL, for queries written out (prepared-reads.ts), with the owner's row as
 * `owners`: a file's columns are null when a left join found none.
 */
export const FILE_COLUMNS_SQL =
  'files.id as id, files.owner_id as ownerId, owners.username as ownerName, files.filename as filename,' +
  ' files.blob_id as blobId, blobs.sha256 as sha256, blobs.size as size, files.content_type as contentType,' +
  ' files.created_at as createdAt, files.updated_at as updatedAt, blobs.damaged_at as damagedAt';

/**
 * Files, their readers (`file_access`, the owner included) and the content they point at
 * (`blobs`, reference-counted). Pass a transaction to make several calls one unit.
 */
export class FileRepository {
  private readonly isMysql: boolean;

  constructor(private readonly db: Knex) {
    this.isMysql = dialectOf(db) === 'mysql';
  }

  private files() {
    return this.db('files').join('users', 'users.id', 'files.owner_id').join('blobs', 'blobs.id', 'files.blob_id').select(FILE_COLUMNS);
  }

  async findOwned(ownerId: number, filename: string): Promise<FileRecord | undefined> {
    const row = await this.files().where('files.owner_id', ownerId).andWhere('files.filename', filename).first();
    return row ? toFile(row) : undefined;
  }

  /** Files of that name that others own and have shared with the user, ordered by owner. */
  async findSharedWith(userId: number, filename: string): Promise<FileRecord[]> {
    const rows = await this.files()
      .join('file_access', 'file_access.file_id', 'files.id')
      .where('file_access.user_id', userId)
      .andWhere('file_access.filename', filename)
      .andWhere('file_access.role', 'friend')
      .orderBy('file_access.owner_key');
    return rows.map(toFile);
  }

  async canRead(userId: number, fileId: number): Promise<boolean> {
    return (await this.db('file_access').where({ file_id: fileId, user_id: userId }).first('file_id')) !== undefined;
  }

  async insertFile(file: {
    ownerId: number;
    ownerKey: string;
    filename: string;
    blobId: number;
    contentType: string;
    now: number;
  }): Promise<number> {
    const [id] = await this.db('files').insert({
      owner_id: file.ownerId,
      filename: file.filename,
      blob_id: file.blobId,
      content_type: file.contentType,
      created_at: file.now,
      updated_at: file.now,
    });
    await this.db('file_access').insert({
      file_id: id,
      user_id: file.ownerId,
      role: 'owner',
      filename: file.filename,
      owner_key: file.ownerKey,
      since: file.now,
    });
    return Number(id);
  }

  /**
   * Inserts files and their readers a few thousand rows per statement, and counts the new
   * references on the blob. Fast enough for a million rows; for test set-ups and `pnpm seed`,
   * never for requests. Run it in a transaction that holds the blob's row.
   */
  async insertManyFiles(files: BulkFiles): Promise<void> {
    const readers = [{ userId: files.ownerId, role: 'owner' }, ...(files.friendIds ?? []).map((userId) => ({ userId, role: 'friend' }))];
    for (let start = 0; start < files.filenames.length; start += BULK_ROWS) {
      const filenames = files.filenames.slice(start, start + BULK_ROWS);
      // Spelt out as one VALUES list: Knex writes SQLite's multi-row insert as a compound SELECT,
      // which SQLite caps at 500 rows.
      await this.db.raw(
        `insert into files (owner_id, filename, blob_id, content_type, created_at, updated_at) values ${filenames.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
        filenames.flatMap((filename) => [files.ownerId, filename, files.blobId, files.contentType, files.now, files.now]),
      );
      // The new ids are read back by the database itself: INSERT … SELECT, one per reader.
      for (const reader of readers) {
        const rows = this.db('files')
          .select(
            'id',
            this.db.raw('?', [reader.userId]),
            this.db.raw('?', [reader.role]),
            'filename',
            this.db.raw('?', [files.ownerKey]),
            'created_at',
          )
          .where('owner_id', files.ownerId)
          .whereIn('filename', filenames);
        await this.db
          .into(this.db.raw('?? (??, ??, ??, ??, ??, ??)', ['file_access', 'file_id', 'user_id', 'role', 'filename', 'owner_key', 'since']))
          .insert(rows);
      }
    }
    await this.changeRefCount(files.blobId, files.filenames.length);
    // The owner's `/me` counts, kept in the same transaction like every other change of files.
    const blob = await this.db('blobs').where('id', files.blobId).first('size');
    const count = files.filenames.length;
    const ledger = new UsageLedger().add(files.ownerId, { files: count, bytes: count * Number(blob.size) });
    await new ContentOwnerRepository(this.db).gain(files.blobId, files.ownerId, count, ledger);
    await ledger.apply(this.db);
  }

  /**
   * The file's owner and content as last committed, its row locked until the transaction ends
   * (MySQL; SQLite runs one transaction at a time): a plain read may come from a snapshot older
   * than a concurrent replace or transfer. Undefined when the file is gone.
   */
  async lockFile(fileId: number): Promise<{ ownerId: number; blobId: number } | undefined> {
    const query = this.db('files').where('id', fileId).first('owner_id', 'blob_id');
    const row = await (this.isMysql ? query.forUpdate() : query);
    return row ? { ownerId: Number(row.owner_id), blobId: Number(row.blob_id) } : undefined;
  }

  async updateContent(fileId: number, blobId: number, contentType: string, now: number): Promise<void> {
    await this.db('files').where('id', fileId).update({ blob_id: blobId, content_type: contentType, updated_at: now });
  }

  async deleteFile(fileId: number): Promise<void> {
    await this.db('file_access').where('file_id', fileId).delete();
    await this.db('files').where('id', fileId).delete();
  }

  /** The blob of that digest; with `lock`, its row stays locked until the transaction ends (MySQL). */
  async findBlob(sha256: string, lock = false): Promise<BlobRecord | undefined> {
    const query = this.db('blobs').where('sha256', sha256).first();
    const row = await (lock && this.isMysql ? query.forUpdate() : query);
    return row ? toBlob(row) : undefined;
  }

  /** Up to `limit` blobs whose digest sorts after `after`, in order: one page of them all (`pnpm migrate-store`). */
  async blobsAfter(after: string, limit: number): Promise<BlobRecord[]> {
    const rows = await this.db('blobs').where('sha256', '>', after).orderBy('sha256').limit(limit);
    return rows.map(toBlob);
  }

  async lockBlobById(blobId: number): Promise<BlobRecord | undefined> {
    const query = this.db('blobs').where('id', blobId).first();
    const row = await (this.isMysql ? query.forUpdate() : query);
    return row ? toBlob(row) : undefined;
  }

  async insertBlob(sha256: string, size: number, now: number): Promise<BlobRecord> {
    const [id] = await this.db('blobs').insert({ sha256, size, ref_count: 0, created_at: now });
    return { id: Number(id), sha256, size, refCount: 0, isDamaged: false, generation: 0 };
  }

  /**
   * The blob's bytes were just stored anew from a verified upload (a repair or a heal): the
   * quarantine lifts, they count as scrubbed now, and a scrub that read the old ones is void.
   */
  async markRestored(blobId: number, now: number): Promise<void> {
    await this.db('blobs')
      .where('id', blobId)
      .update({ damaged_at: null, scrubbed_at: now, bytes_generation: this.db.raw('bytes_generation + 1') });
  }

  async changeRefCount(blobId: number, delta: number): Promise<void> {
    await this.db('blobs').where('id', blobId).increment('ref_count', delta);
  }

  async unreferencedBlobIds(): Promise<number[]> {
    const rows = await this.db('blobs').where('ref_count', '<=', 0).select('id');
    return rows.map((row) => Number(row.id));
  }

  /** Those of `digests` that a blob row records. */
  async recordedDigests(digests: string[]): Promise<Set<string>> {
    const rows = await this.db('blobs').whereIn('sha256', digests).select('sha256');
    return new Set(rows.map((row) => String(row.sha256)));
  }

  async deleteBlob(blobId: number): Promise<void> {
    await this.db('blobs').where('id', blobId).delete();
  }

  /**
   * In one query: whether the user can read a file with this content, and how many distinct
   * users own one (counted up to `cap` only: the index on files(blob_id, owner_id) stops there).
   */
  async disclosureFacts(userId: number, blobId: number, cap: number): Promise<{ isReader: boolean; owners: number }> {
    const readers = this.db('files')
      .join('file_access', 'file_access.file_id', 'files.id')
      .where('files.blob_id', blobId)
      .andWhere('file_access.user_id', userId)
      .select(this.db.raw('1'))
      .limit(1);
    const owners = this.db
      .from(this.db('files').distinct('owner_id').where('blob_id', blobId).limit(cap).as('owners'))
      .count({ count: '*' });
    const row = await this.db.select({ isReader: this.db.raw('exists ?', [readers]), owners: owners }).first();
    return { isReader: Number(row.isReader) === 1, owners: Number(row.owners) };
  }
}

export function toFile(row: Record<string, unknown>): FileRecord {
  return {
    id: Number(row.id),
    ownerId: Number(row.ownerId),
    ownerName: String(row.ownerName),
    filename: String(row.filename),
    blobId: Number(row.blobId),
    sha256: String(row.sha256),
    size: Number(row.size),
    contentType: String(row.contentType),
    createdAt: Number(row.createdAt),
    updatedAt: Number(row.updatedAt),
    isDamaged: row.damagedAt !== null && row.damagedAt !== undefined,
  };
}

function toBlob(row: Record<string, unknown>): BlobRecord {
  return {
    id: Number(row.id),
    sha256: String(row.sha256),
    size: Number(row.size),
    refCount: Number(row.ref_count),
    isDamaged: row.damaged_at !== null && row.damaged_at !== undefined,
    generation: Number(row.bytes_generation ?? 0),
  };
}
