import type { Knex } from 'knex';
import { dialectOf } from '../db/open.js';
import { inTransaction } from './transaction.js';

/** A blob a scrubber holds the lease of, as it was when the lease was taken. */
export interface ScrubTarget {
  id: number;
  sha256: string;
  size: number;
  generation: number;
}

/** What became of a re-hash's outcome: recorded, or void because the blob went or its bytes were replaced meanwhile. */
export type ScrubRecord = 'recorded' | 'gone' | 'replaced';

/** Candidates read per query; the first whose lease this scrubber wins is taken. */
const CANDIDATES = 8;

/**
 * The scrub's bookkeeping on the `blobs` rows (migration 202612030400_content_scrub): which
 * content is due, the lease that keeps one scrubber per content across instances, and the
 * outcome of each re-hash (scrubbed_at, damaged_at).
 */
export class ScrubRepository {
  private readonly isMysql: boolean;

  constructor(private readonly db: Knex) {
    this.isMysql = dialectOf(db) === 'mysql';
  }

  /**
   * Takes the lease of the referenced blob scrubbed longest ago (never scrubbed first) among
   * those last scrubbed at or before `dueBefore` and leased by nobody now; undefined when none.
   */
  async leaseDue(dueBefore: number, now: number, owner: string, leaseUntil: number): Promise<ScrubTarget | undefined> {
    const due = (query: Knex.QueryBuilder) =>
      query
        .where('ref_count', '>', 0)
        .andWhere((when) => when.whereNull('scrubbed_at').orWhere('scrubbed_at', '<=', dueBefore))
        .andWhere((free) => free.whereNull('scrub_lease_until').orWhere('scrub_lease_until', '<', now));
    const candidates = await due(this.db('blobs'))
      .orderBy([
        { column: 'scrubbed_at', order: 'asc' },
        { column: 'id', order: 'asc' },
      ])
      .limit(CANDIDATES)
      .select('id', 'sha256', 'size', 'bytes_generation');
    for (const row of candidates) {
      // Another scrubber may have leased it since the read: only one update wins.
      const won = await due(this.db('blobs').where('id', row.id)).update({ scrub_lease_until: leaseUntil, scrub_lease_owner: owner });
      if (won === 1) {
        return { id: Number(row.id), sha256: String(row.sha256), size: Number(row.size), generation: Number(row.bytes_generation) };
      }
    }
    return undefined;
  }

  /** Extends the lease while the re-hash runs; false when it was lost (expired and taken). */
  async renewLease(blobId: number, owner: string, leaseUntil: number): Promise<boolean> {
    const renewed = await this.db('blobs').where({ id: blobId, scrub_lease_owner: owner }).update({ scrub_lease_until: leaseUntil });
    return renewed === 1;
  }

  async releaseLease(blobId: number, owner: string): Promise<void> {
    await this.db('blobs').where({ id: blobId, scrub_lease_owner: owner }).update({ scrub_lease_until: null, scrub_lease_owner: null });
  }

  /**
   * Records a re-hash of generation `generation` of the blob's bytes: whole (scrubbed now, any
   * quarantine lifted) or not (quarantined since the first time it was found). With the row
   * locked, as uploads and deletes lock it: a blob collected meanwhile, or whose bytes an upload
   * stored anew meanwhile, is left as it is. `owner`'s lease, if given, is released.
   */
  recordOutcome(blobId: number, generation: number, isWhole: boolean, now: number, owner?: string): Promise<ScrubRecord> {
    return inTransaction(this.db, async (trx) => {
      const query = trx('blobs').where('id', blobId).first('ref_count', 'bytes_generation', 'damaged_at');
      const row = await (this.isMysql ? query.forUpdate() : query);
      const release = async () => {
        if (owner === undefined) return;
        await trx('blobs').where({ id: blobId, scrub_lease_owner: owner }).update({ scrub_lease_until: null, scrub_lease_owner: null });
      };
      if (!row) return 'gone';
      let outcome: ScrubRecord = 'recorded';
      if (Number(row.ref_count) <= 0) outcome = 'gone';
      else if (Number(row.bytes_generation) !== generation) outcome = 'replaced';
      else
        await trx('blobs')
          .where('id', blobId)
          .update({ scrubbed_at: now, damaged_at: isWhole ? null : (row.damaged_at ?? now) });
      await release();
      return outcome;
    });
  }

  /** Blobs quarantined now (for logs and tests). */
  async damagedCount(): Promise<number> {
    const row = (await this.db('blobs').whereNotNull('damaged_at').count({ count: '*' }).first()) as { count: number | string };
    return Number(row.count);
  }
}
