import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import {
  CHALLENGE_RANGE_BYTES,
  CHALLENGE_RANGES,
  CHALLENGE_TTL_SECONDS,
  WHOLE_CHALLENGE_MAX,
  type ClaimBody,
  type UploadReply,
} from '@cloudstore/shared';
import type { Knex } from 'knex';
import { AppError, contentDamaged } from '../errors.js';
import { ChallengeRepository } from '../repositories/challenges.js';
import { FileRepository, type BlobRecord } from '../repositories/files.js';
import type { SessionUser } from '../repositories/sessions.js';
import { inTransaction } from '../repositories/transaction.js';
import type { BlobStore } from '../store/blob-store.js';
import type { Disclosure } from './disclosure.js';
import { DEFAULT_CONTENT_TYPE, checkedFilename, type FileService } from './files.js';

const contentUnknown = () =>
  new AppError('CONTENT_UNKNOWN', 'no content with that digest and size is available to claim: upload the bytes');
const damaged = () => contentDamaged('that digest', 'upload the bytes instead, which repairs it');
const proofInvalid = () => new AppError('PROOF_INVALID', 'the proof of possession is not valid');

/**
 * Claim by digest with proof of possession (API.md, "Claim by digest"): knowing a digest is never
 * enough; the caller must hash ranges of the content that the server picks at random.
 */
export class ClaimService {
  constructor(
    private readonly db: Knex,
    private readonly store: BlobStore,
    private readonly files: FileService,
    private readonly disclosure: Disclosure,
    private readonly clock: () => number = Date.now,
  ) {}

  async claim(caller: SessionUser, body: ClaimBody): Promise<UploadReply> {
    const filename = checkedFilename(body.filename);
    const sha256 = body.sha256.toLowerCase();
    const contentType = body.content_type ?? DEFAULT_CONTENT_TYPE;
    // Before anything about the content: the answer depends only on what the caller sent and owns.
    await this.files.ensureRoom(caller, body.size, filename);
    const blob = await this.disclosableBlob(new FileRepository(this.db), caller, sha256, body.size);
    // Only once the caller may learn that it is stored: to anyone else it is unknown, as ever.
    if (blob.isDamaged) throw damaged();
    if (!body.proof) throw await this.challenge(caller, blob);

    const challenge = await new ChallengeRepository(this.db).consume(body.proof.nonce);
    const isValid =
      challenge !== undefined &&
      challenge.userId === caller.userId &&
      challenge.sha256 === sha256 &&
      challenge.size === body.size &&
      challenge.expiresAt > this.clock() &&
      (await this.answerMatches(sha256, challenge.nonce, challenge.ranges, body.proof.digest));
    if (!isValid) throw proofInvalid();

    const { replaced, released } = await inTransaction(this.db, async (trx) => {
      const files = new FileRepository(trx);
      const locked = await files.findBlob(sha256, true);
      // Deleted since the challenge: nothing left to claim.
      if (!locked || locked.refCount <= 0 || locked.size !== body.size || !(await this.store.stat(sha256, trx))) {
        throw contentUnknown();
      }
      if (locked.isDamaged) throw damaged();
      return this.files.attach(trx, caller, filename, contentType, locked);
    });
    await this.files.collect(released);
    return { filename, sha256, size: body.size, deduplicated: true, replaced };
  }

  /** The stored content of that digest and size, when the caller may learn that it is stored. */
  private async disclosableBlob(files: FileRepository, caller: SessionUser, sha256: string, size: number): Promise<BlobRecord> {
    const stored = await files.findBlob(sha256);
    const blob = stored?.size === size ? stored : undefined;
    // Asked even for content never seen: the same work on both paths, so timing tells nothing.
    if (!(await this.disclosure.mayDisclose(files, caller.userId, sha256, blob)) || !blob) throw contentUnknown();
    return blob;
  }

  private async challenge(caller: SessionUser, blob: BlobRecord): Promise<AppError> {
    const now = this.clock();
    const nonce = randomBytes(32).toString('base64url');
    const ranges = pickRanges(blob.size);
    const challenges = new ChallengeRepository(this.db);
    await challenges.deleteExpired(now);
    await challenges.create({
      nonce,
      userId: caller.userId,
      sha256: blob.sha256,
      size: blob.size,
      ranges,
      expiresAt: now + CHALLENGE_TTL_SECONDS * 1000,
    });
    return new AppError('PROOF_REQUIRED', 'prove that you have the content: hash the nonce and the challenged ranges', {
      challenge: { nonce, ranges },
    });
  }

  /** Reads only the challenged ranges of the stored content. */
  private async answerMatches(sha256: string, nonce: string, ranges: [number, number][], answer: string): Promise<boolean> {
    const hash = createHash('sha256').update(nonce, 'utf8');
    try {
      for (const [offset, length] of ranges) {
        if (length === 0) continue;
        for await (const chunk of this.store.read(sha256, { start: offset, end: offset + length - 1 })) hash.update(chunk as Buffer);
      }
    } catch (error) {
      // Deleted since round 1: nothing left to claim, whatever the answer.
      if (!(await this.store.stat(sha256))) throw contentUnknown();
      throw error;
    }
    const expected = hash.digest();
    const given = Buffer.from(answer, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/** 16 random 4 KiB ranges, or the whole content when it is at most 1 MiB (API.md). */
export function pickRanges(size: number): [number, number][] {
  if (size <= WHOLE_CHALLENGE_MAX) return [[0, size]];
  return Array.from({ length: CHALLENGE_RANGES }, () => [randomInt(0, size - CHALLENGE_RANGE_BYTES + 1), CHALLENGE_RANGE_BYTES]);
}
