import type { Knex } from 'knex';

/** Expired challenges deleted at most by one call of deleteExpired. */
const EXPIRED_BATCH = 500;

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

  /**
   * Deletes expired challenges, up to EXPIRED_BATCH of them (the rest go next time). Found first,
   * then deleted by nonce: a delete over the expiry index locks that index before the rows, the
   * opposite order to `consume`'s delete by nonce, and the two deadlocked on MySQL/MariaDB (one
   * claim in 160 answered 503 with 16 claims at once).
   */
  async deleteExpired(now: number): Promise<void> {
    const expired = await this.db('challenges').where('expires_at', '<', now).limit(EXPIRED_BATCH).pluck('nonce');
    if (expired.length > 0) await this.db('challenges').whereIn('nonce', expired).where('expires_at', '<', now).delete();
  }
}
