import type { VerifyBody, VerifyReply } from '@cloudstore/shared';
import type { Knex } from 'knex';
import { fileNotFound } from '../errors.js';
import { FileRepository } from '../repositories/files.js';
import { ScrubRepository } from '../repositories/scrub.js';
import type { SessionUser } from '../repositories/sessions.js';
import { VerifyRequestRepository } from '../repositories/verify-requests.js';
import type { BlobStore } from '../store/blob-store.js';
import type { FileService } from './files.js';
import { rateLimited } from './login-limits.js';

const WINDOW_MS = 60_000;
/** A re-hash that raced with a heal of the same content is run again, this many times at most. */
const ATTEMPTS = 3;

/**
 * A re-hash of one file's stored bytes on request (API.md, "Verify"): anyone who can read the
 * file may ask, `limit` times per minute (VERIFY_LIMIT; 0 = no limit). The outcome is the scrub's
 * too: it counts as a scrub of that content, and quarantines or heals it alike.
 */
export class VerificationService {
  private readonly requests: VerifyRequestRepository;
  private readonly scrub: ScrubRepository;

  constructor(
    private readonly db: Knex,
    private readonly store: BlobStore,
    private readonly files: FileService,
    private readonly limit: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.requests = new VerifyRequestRepository(db);
    this.scrub = new ScrubRepository(db);
  }

  async verify(caller: SessionUser, body: VerifyBody): Promise<VerifyReply> {
    const file = await this.files.resolve(caller, body.filename, body.owner);
    await this.reserve(caller.userId);
    for (let attempt = 1; ; attempt++) {
      const blob = await new FileRepository(this.db).findBlob(file.sha256);
      if (!blob) throw fileNotFound(file.filename);
      const found = await this.store.rehash(blob.sha256);
      const isWhole = found !== null && found.sha256 === blob.sha256 && found.size === blob.size;
      const recorded = await this.scrub.recordOutcome(blob.id, blob.generation, isWhole, this.clock());
      if (recorded === 'gone') throw fileNotFound(file.filename);
      if (recorded === 'recorded' || attempt >= ATTEMPTS) {
        return { filename: file.filename, owner: file.ownerName, sha256: blob.sha256, size: blob.size, status: isWhole ? 'ok' : 'damaged' };
      }
    }
  }

  private async reserve(userId: number): Promise<void> {
    if (this.limit === 0) return;
    const now = this.clock();
    await this.requests.deleteOlderThan(now - WINDOW_MS);
    const reservation = await this.requests.reserve(userId, now, WINDOW_MS, this.limit);
    if ('blockedUntil' in reservation)
      throw rateLimited(`more than ${this.limit} verifications in a minute`, reservation.blockedUntil - now);
  }
}
