import type { Knex } from 'knex';

export interface ChallengeRecord {
  nonce: string;
  userId: number;
  sha256: string;
  size: number;
  ranges: [number, number][];
  expiresAt: number;
}

/** Outstanding proof-of-possession challenges, kept in the database so any server process can check one. */
export class ChallengeRepository {
  constructor(private readonly db: Knex) {}

  async create(challenge: ChallengeRecord): Promise<void> {
    await this.db('challenges').insert({
      nonce: challenge.nonce,
      user_id: challenge.userId,
      sha256: challenge.sha256,
      size: challenge.size,
      ranges: JSON.stringify(challenge.ranges),
      expires_at: challenge.expiresAt,
    });
  }

  /** Takes the challenge out: it works once, whoever asks first. Undefined when it is unknown or used. */
  async consume(nonce: string): Promise<ChallengeRecord | undefined> {
    const row = await this.db('challenges').where('nonce', nonce).first();
    // MySQL's default collation ignores case and trailing spaces: only the nonce issued, byte for byte.
    if (!row || row.nonce !== nonce) return undefined;
    const deleted = await this.db('challenges').where('nonce', nonce).delete();
    if (deleted !== 1) return undefined;
    return {
      nonce,
      userId: Number(row.user_id),
      sha256: String(row.sha256),
      size: Number(row.size),
      ranges: JSON.parse(String(row.ranges)) as [number, number][],
      expiresAt: Number(row.expires_at),
    };
  }

  async deleteExpired(now: number): Promise<void> {
    await this.db('challenges').where('expires_at', '<', now).delete();
  }
}
