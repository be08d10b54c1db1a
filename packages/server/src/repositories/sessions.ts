import type { Knex } from 'knex';

export interface SessionUser {
  userId: number;
  username: string;
  tokenId: string;
  /** The client address of the request (set by the auth plugin), for the audit trail. */
  address?: string;
}

/** Issued tokens. A token authenticates only while its row exists: logout deletes it. */
export class SessionRepository {
  constructor(private readonly db: Knex) {}

  async create(tokenId: string, userId: number, expiresAt: number): Promise<void> {
    await this.db('sessions').insert({ token_id: tokenId, user_id: userId, expires_at: expiresAt });
  }

  async find(tokenId: string, now: number): Promise<SessionUser | undefined> {
    const row = await this.db('sessions')
      .join('users', 'users.id', 'sessions.user_id')
      .select('users.id as userId', 'users.username as username')
      .where('sessions.token_id', tokenId)
      .andWhere('sessions.expires_at', '>', now)
      .first();
    return row ? { userId: Number(row.userId), username: row.username, tokenId } : undefined;
  }

  async revoke(tokenId: string): Promise<void> {
    await this.db('sessions').where('token_id', tokenId).delete();
  }

  async deleteExpired(now: number): Promise<void> {
    await this.db('sessions').where('expires_at', '<=', now).delete();
  }
}
