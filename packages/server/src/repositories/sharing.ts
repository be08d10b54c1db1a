import type { Knex } from 'knex';
import { AppError } from '../errors.js';
import { dialectOf } from '../db/open.js';
import { isUniqueViolation } from './db-errors.js';
import { ContentOwnerRepository } from './content-owners.js';
import type { UsageLedger } from './usage.js';

export type Role = 'owner' | 'friend';

/** Where a page of the listing starts: just after this (filename, owner key). */
export interface ListPosition {
  filename: string;
  ownerKey: string;
}

/** One file of a user's listing, with the caller's role on it. */
export interface ListedFile extends ListPosition {
  ownerName: string;
  role: Role;
  sha256: string;
  size: number;
  contentType: string;
  createdAt: number;
  updatedAt: number;
  /** The content is quarantined (its stored bytes no longer match its digest). */
  isDamaged: boolean;
}

export interface Friend {
  username: string;
  since: number;
}

/**
 * Who may read which file: the `file_access` rows (one per reader, the owner included) and the
 * ownership of a file. Pass a transaction to make several calls one unit.
 */
export class SharingRepository {
  private readonly isMysql: boolean;

  constructor(private readonly db: Knex) {
    this.isMysql = dialectOf(db) === 'mysql';
  }

  /**
   * Up to `count` files the user can read, after `after`, in (filename, owner key) byte order.
   * The page is cut first, from one range of the index file_access(user_id, filename, owner_key)
   * read in its order; only its rows then reach the other tables, by primary key, in a join order
   * the planner may not change: left to itself, MariaDB starts from a small users or blobs table
   * and reads every file of the user.
   */
  async listPage(userId: number, after: ListPosition | null, count: number): Promise<ListedFile[]> {
    // Only columns the index holds (InnoDB keeps the primary key in it): MariaDB then seeks to the
    // cursor; asked for `role` too, it reads the user's entries from the first one on instead.
    const page = this.db('file_access')
      .select('file_id', 'filename', 'owner_key')
      .where('user_id', userId)
      .orderBy([
        { column: 'filename', order: 'asc' },
        { column: 'owner_key', order: 'asc' },
      ])
      .limit(count);
    if (after) {
      // (filename, owner_key) > (a, b), spelt so that both databases seek the index on filename.
      page.andWhere('filename', '>=', after.filename).andWhere((next) => {
        next.where('filename', '>', after.filename).orWhere('owner_key', '>', after.ownerKey);
      });
    }
    // An inner join that keeps the order written: MySQL's STRAIGHT_JOIN, SQLite's CROSS JOIN.
    const inOrder = this.isMysql ? 'straight_join' : 'cross join';
    const rows: Record<string, unknown>[] = await this.db
      .from(page.as('page'))
      .joinRaw(`${inOrder} files on files.id = page.file_id`)
      .joinRaw(`${inOrder} users on users.id = files.owner_id`)
      .joinRaw(`${inOrder} blobs on blobs.id = files.blob_id`)
      .select(
        'page.filename as filename',
        'page.owner_key as ownerKey',
        'files.owner_id as ownerId',
        'users.username as ownerName',
        'blobs.sha256 as sha256',
        'blobs.size as size',
        'files.content_type as contentType',
        'files.created_at as createdAt',
        'files.updated_at as updatedAt',
        'blobs.damaged_at as damagedAt',
      )
      // Sorts the page's rows only.
      .orderBy([
        { column: 'page.filename', order: 'asc' },
        { column: 'page.owner_key', order: 'asc' },
      ]);
    return rows.map((row) => ({
      filename: String(row.filename),
      ownerKey: String(row.ownerKey),
      ownerName: String(row.ownerName),
      // files.owner_id decides ownership; file_access.role mirrors it but is not in the index.
      role: Number(row.ownerId) === userId ? 'owner' : 'friend',
      sha256: String(row.sha256),
      size: Number(row.size),
      contentType: String(row.contentType),
      createdAt: Number(row.createdAt),
      updatedAt: Number(row.updatedAt),
      isDamaged: row.damagedAt !== null && row.damagedAt !== undefined,
    }));
  }

  /**
   * The file's current owner, read past the transaction's snapshot and locked until the
   * transaction ends (MySQL; SQLite runs one transaction at a time), or undefined when the file
   * is gone. Every change of readers or owner takes this lock first, so they happen one by one.
   */
  async lockOwner(fileId: number): Promise<number | undefined> {
    const query = this.db('files').where('id', fileId).first('owner_id');
    const row = await (this.isMysql ? query.forUpdate() : query);
    return row ? Number(row.owner_id) : undefined;
  }

  async role(fileId: number, userId: number): Promise<Role | undefined> {
    const row = await this.db('file_access').where({ file_id: fileId, user_id: userId }).first('role');
    return row?.role as Role | undefined;
  }

  async addFriend(access: { fileId: number; userId: number; filename: string; ownerKey: string; since: number }): Promise<void> {
    await this.db('file_access').insert({
      file_id: access.fileId,
      user_id: access.userId,
      role: 'friend',
      filename: access.filename,
      owner_key: access.ownerKey,
      since: access.since,
    });
  }

  /** Whether there was a friend row to remove. */
  async removeFriend(fileId: number, userId: number): Promise<boolean> {
    const removed = await this.db('file_access').where({ file_id: fileId, user_id: userId, role: 'friend' }).delete();
    return removed > 0;
  }

  /**
   * Hands the file to `newOwnerId`: the files row, then every reader's owner key, the previous
   * owner's row (now a friend's) and the new owner's (a friend row, if any, becomes ownership).
   * A new owner who already owns that name is NAME_TAKEN: the unique key on
   * files(owner_id, filename) decides, so a file of theirs created a moment ago counts too.
   * The file and its bytes move from one owner's usage to the other's: gathered in `ledger`,
   * which the caller applies last.
   */
  async transfer(
    ledger: UsageLedger,
    change: {
      fileId: number;
      filename: string;
      previousOwnerId: number;
      newOwnerId: number;
      newOwnerName: string;
      newOwnerKey: string;
      now: number;
    },
  ): Promise<void> {
    try {
      await this.db('files').where('id', change.fileId).update({ owner_id: change.newOwnerId });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new AppError('NAME_TAKEN', `${change.newOwnerName} already owns a file named '${change.filename}'`);
      }
      throw error;
    }
    await this.db('file_access').where('file_id', change.fileId).update({ owner_key: change.newOwnerKey });
    await this.db('file_access')
      .where({ file_id: change.fileId, user_id: change.previousOwnerId })
      .update({ role: 'friend', since: change.now });
    await this.db('file_access').where({ file_id: change.fileId, user_id: change.newOwnerId }).delete();
    await this.db('file_access').insert({
      file_id: change.fileId,
      user_id: change.newOwnerId,
      role: 'owner',
      filename: change.filename,
      owner_key: change.newOwnerKey,
      since: change.now,
    });
    const { blobId, size } = await this.content(change.fileId);
    const owners = new ContentOwnerRepository(this.db);
    await owners.lose(blobId, change.previousOwnerId, 1, ledger);
    await owners.gain(blobId, change.newOwnerId, 1, ledger);
    ledger.add(change.previousOwnerId, { files: -1, bytes: -size }).add(change.newOwnerId, { files: 1, bytes: size });
  }

  /**
   * The file's content as last committed (MySQL's plain read may come from a snapshot older
   * than a replace); the file's row is locked already, so it cannot change meanwhile.
   */
  private async content(fileId: number): Promise<{ blobId: number; size: number }> {
    const query = this.db('files')
      .join('blobs', 'blobs.id', 'files.blob_id')
      .where('files.id', fileId)
      .first('files.blob_id as blobId', 'blobs.size as size');
    const row = await (this.isMysql ? query.forShare() : query);
    return { blobId: Number(row.blobId), size: Number(row.size) };
  }

  /** The file's friends (the owner left out), in the order they were added. */
  async friends(fileId: number): Promise<Friend[]> {
    const rows: { username: string; since: unknown }[] = await this.db('file_access')
      .join('users', 'users.id', 'file_access.user_id')
      .select('users.username as username', 'file_access.since as since')
      .where({ 'file_access.file_id': fileId, 'file_access.role': 'friend' })
      .orderBy([
        { column: 'file_access.since', order: 'asc' },
        { column: 'users.username_key', order: 'asc' },
      ]);
    return rows.map((row) => ({ username: row.username, since: Number(row.since) }));
  }
}
