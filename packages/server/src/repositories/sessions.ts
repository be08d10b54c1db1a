import type { Knex } from 'knex';
import type { PreparedReads } from '../db/prepared-reads.js';

export interface SessionUser {
  userId: number;
  username: string;
  tokenId: string;
  /** The client address of the request (set by the auth plugin), for the audit trail. */
  address?: string;
}

/** The live session of a token id, asked by every authenticated request. */
const SESSION_SQL =
  'select users.id as userId, users.username as username from sessions join users on users.id = sessions.user_id' +
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

  async revoke(tokenId: string): Promise<void> {
    await this.db('sessions').where('token_id', tokenId).delete();
  }

  async deleteExpired(now: number): Promise<void> {
    await this.db('sessions').where('expires_at', '<=', now).delete();
  }
}
