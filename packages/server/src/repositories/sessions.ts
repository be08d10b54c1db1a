import type { Knex } from 'knex';
import type { PreparedReads } from '../db/prepared-reads.js';
import { FILE_COLUMNS_SQL, toFile, type FileRecord } from './files.js';

export interface SessionUser {
  userId: number;
  username: string;
  tokenId: string;
  /** The client address of the request (set by the auth plugin), for the audit trail. */
  address?: string;
}

/** The live session of a token id, asked by every authenticated request. */
const SESSION_SQL =
  'select owners.id as userId, owners.username as username from sessions join users owners on owners.id = sessions.user_id' +
  ' where sessions.token_id = ? and sessions.expires_at > ? limit 1';

/** The same, with the user's own file of a name (its columns null when there is none): a download's one query. */
const SESSION_WITH_OWN_FILE_SQL =
  `select owners.id as userId, owners.username as username, ${FILE_COLUMNS_SQL}` +
  ' from sessions join users owners on owners.id = sessions.user_id' +
  ' left join files on files.owner_id = owners.id and files.filename = ? left join blobs on blobs.id = files.blob_id' +
  ' where sessions.token_id = ? and sessions.expires_at > ? limit 1';

/**
 * Issued tokens. A token authenticates only while its row exists: logout deletes it, and every
 * request reads the row again (no cache), so that a logout takes effect at once on every instance.
 */
export class SessionRepository {
  constructor(
    private readonly db: Knex,
    private readonly reads: PreparedReads,
  ) {}

  async create(tokenId: string, userId: number, expiresAt: number): Promise<void> {
    await this.db('sessions').insert({ token_id: tokenId, user_id: userId, expires_at: expiresAt });
  }

  async find(tokenId: string, now: number): Promise<SessionUser | undefined> {
    const row = await this.reads.first<{ userId: number; username: string }>(SESSION_SQL, [tokenId, now]);
    return row ? { userId: Number(row.userId), username: row.username, tokenId } : undefined;
  }

  /** `find`, and the user's own file named `filename` (null when they have none), in one query. */
  async findWithOwnFile(
    tokenId: string,
    now: number,
    filename: string,
  ): Promise<{ session: SessionUser; ownFile: FileRecord | null } | undefined> {
    const row = await this.reads.first<Record<string, unknown>>(SESSION_WITH_OWN_FILE_SQL, [filename, tokenId, now]);
    if (!row) return undefined;
    const session = { userId: Number(row.userId), username: String(row.username), tokenId };
    return { session, ownFile: row.id === null || row.id === undefined ? null : toFile(row) };
  }

  async revoke(tokenId: string): Promise<void> {
    await this.db('sessions').where('token_id', tokenId).delete();
  }

  async deleteExpired(now: number): Promise<void> {
    await this.db('sessions').where('expires_at', '<=', now).delete();
  }
}
