import { MEDIA_TYPE_MAX_BYTES, SHA256_HEX_PATTERN, isMediaType, normalizeFilename, type UploadReply } from '@cloudstore/shared';
import type { Knex } from 'knex';
import type { Readable, Writable } from 'node:stream';
import { AppError, contentDamaged, fileNotFound, validationFailed } from '../errors.js';
import { AuditRepository } from '../repositories/audit.js';
import { ContentOwnerRepository } from '../repositories/content-owners.js';
import { FileRepository, type BlobRecord, type FileRecord } from '../repositories/files.js';
import { inTransaction } from '../repositories/transaction.js';
import { UsageLedger, UsageRepository, type QuotaCheck } from '../repositories/usage.js';
import { UserRepository, usernameKey } from '../repositories/users.js';
import type { SessionUser } from '../repositories/sessions.js';
import type { BlobStore, StagedBlob } from '../store/blob-store.js';
import type { Disclosure } from './disclosure.js';

/** The id of a blob that `release` left with no reference: `collect` it after commit. */
const isUnreferenced = (released: BlobRecord | undefined) => (released && released.refCount <= 1 ? released.id : null);

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const sha256Hex = new RegExp(SHA256_HEX_PATTERN);

/** One part of a multipart/form-data upload, as @fastify/multipart yields them. */
export type UploadPart =
  | { type: 'field'; fieldname: string; value: unknown; valueTruncated: boolean }
  | { type: 'file'; fieldname: string; filename: string; mimetype: string; file: Readable };

/** Digests looked up per query when the store is checked against the database. */
const UNRECORDED_BATCH = 500;

export interface ResolvedFile extends FileRecord {
  isOwner: boolean;
}

/** A NFC-normalised, valid filename, or 400. */
export function checkedFilename(raw: string | undefined): string {
  if (raw === undefined) throw validationFailed('a filename is required');
  const result = normalizeFilename(raw);
  if (!result.ok) throw validationFailed(result.reason);
  return result.name;
}

/** Files: which file a name means, upload, content attachment, delete and garbage collection. */
export class FileService {
  constructor(
    private readonly db: Knex,
    private readonly store: BlobStore,
    private readonly disclosure: Disclosure,
    private readonly maxUploadBytes: number,
    /** QUOTA_BYTES: the most bytes of files a user may own; null for no limit. */
    readonly quotaBytes: number | null = null,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Refuses, before any byte is received, an upload of `size` bytes that would take the caller
   * over the quota, counting the file of that name it would replace. Uploads of unknown size
   * (chunked, multipart) are checked when recorded; so is every upload, since others may land
   * meanwhile. The tus creation calls this with Upload-Length and the filename.
   */
  async ensureRoom(caller: SessionUser, size: number, rawFilename?: string): Promise<void> {
    if (this.quotaBytes === null) return;
    // The name not known yet (a multipart body): it may replace any file, so only the size alone can tell.
    if (rawFilename === undefined) {
      if (size > this.quotaBytes) throw overQuota(this.quotaBytes, size, 'this upload');
      return;
    }
    const usage = await new UsageRepository(this.db).find(caller.userId);
    const filename = normalizeFilename(rawFilename);
    const replaced = filename.ok ? await new FileRepository(this.db).findOwned(caller.userId, filename.name) : undefined;
    const after = usage.bytes - (replaced?.size ?? 0) + size;
    if (after > this.quotaBytes) throw overQuota(this.quotaBytes, after, 'this upload');
  }

  /** The caller's quota, checked when their usage grows (UsageLedger.apply). */
  private callerQuota(what: string): QuotaCheck | null {
    const quotaBytes = this.quotaBytes;
    return quotaBytes === null ? null : { bytes: quotaBytes, refuse: (_userId, after) => overQuota(quotaBytes, after, what) };
  }

  /**
   * Which file NAME means to the caller (API.md, "Download"): with `owner`, that owner's file;
   * else the caller's own, else the one file of that name shared with them. Anything the caller
   * may not read is FILE_NOT_FOUND. `ownFile`: the caller's own file of that name, when already
   * read along with the session (null: they have none).
   */
  async resolve(
    caller: SessionUser,
    rawFilename: string | undefined,
    owner?: string,
    { within, ownFile }: { within?: Knex.Transaction; ownFile?: FileRecord | null } = {},
  ): Promise<ResolvedFile> {
    const filename = checkedFilename(rawFilename);
    const db = within ?? this.db;
    const files = new FileRepository(db);
    if (owner !== undefined) {
      const ownerRow = await new UserRepository(db).findByName(owner);
      const file = ownerRow ? await files.findOwned(ownerRow.id, filename) : undefined;
      if (!file || !(await files.canRead(caller.userId, file.id))) throw fileNotFound(filename);
      return { ...file, isOwner: file.ownerId === caller.userId };
    }
    const own = ownFile === undefined ? await files.findOwned(caller.userId, filename) : ownFile;
    if (own) return { ...own, isOwner: true };
    const shared = await files.findSharedWith(caller.userId, filename);
    if (shared.length === 0) throw fileNotFound(filename);
    if (shared.length > 1) {
      throw new AppError('AMBIGUOUS_FILENAME', `several files named '${filename}' are shared with you: say which owner with owner=`, {
        owners: shared.map((file) => file.ownerName),
      });
    }
    return { ...shared[0], isOwner: false };
  }

  /** The file NAME means, as `resolve`, when its bytes may be served: damaged content is 503 CONTENT_DAMAGED. */
  async resolveServable(
    caller: SessionUser,
    rawFilename: string | undefined,
    owner?: string,
    ownFile?: FileRecord | null,
  ): Promise<ResolvedFile> {
    const file = await this.resolve(caller, rawFilename, owner, { ownFile });
    if (file.isDamaged) throw contentDamaged(`'${file.filename}'`);
    return file;
  }

  /** Streams an upload into storage, then records it (API.md, "Upload"). */
  async upload(
    caller: SessionUser,
    rawFilename: string | undefined,
    contentType: string,
    source: Readable,
    expectedSha256?: string,
  ): Promise<UploadReply> {
    const filename = checkedFilename(rawFilename);
    return this.record(caller, filename, contentType, await this.stage(source), expectedSha256);
  }

  /**
   * A multipart upload (API.md, "Upload"): one file part named `file`, text fields of at most
   * `fieldBytesMax` bytes before it. The bytes are staged while the rest of the request is
   * read, and recorded only once the whole request proved well-formed.
   */
  async uploadMultipart(caller: SessionUser, parts: AsyncIterable<UploadPart>, fieldBytesMax: number): Promise<UploadReply> {
    const fields: Record<string, string> = {};
    let staged: StagedBlob | undefined;
    let filename = '';
    let contentType = DEFAULT_CONTENT_TYPE;
    try {
      for await (const part of parts) {
        if (part.type === 'field') {
          if (staged) throw validationFailed('text fields must come before the file part');
          if (part.valueTruncated || Buffer.byteLength(String(part.value)) > fieldBytesMax) {
            throw validationFailed(`the field '${part.fieldname}' is over ${fieldBytesMax} bytes`);
          }
          fields[part.fieldname] = String(part.value);
          continue;
        }
        if (staged) throw validationFailed('send one file part only');
        if (part.fieldname !== 'file') throw validationFailed("the file part must be named 'file'");
        filename = checkedFilename(fields.filename ?? part.filename);
        if (fields.sha256 !== undefined && !sha256Hex.test(fields.sha256)) {
          throw validationFailed('sha256 must be 64 hexadecimal digits');
        }
        if (!isMediaType(part.mimetype)) {
          throw validationFailed(`the file part's type must be a type/subtype media type of at most ${MEDIA_TYPE_MAX_BYTES} bytes`);
        }
        contentType = part.mimetype;
        staged = await this.stage(part.file);
      }
    } catch (error) {
      await staged?.discard();
      throw isMalformedMultipart(error) ? validationFailed('the multipart body is malformed') : error;
    }
    if (!staged) throw validationFailed("no file part named 'file'");
    return this.record(caller, filename, contentType, staged, fields.sha256);
  }

  /** Streams bytes to temporary storage, hashing them; `record` then makes them a file. */
  private stage(source: Readable): Promise<StagedBlob> {
    return this.store.write(source, { maxBytes: this.maxUploadBytes });
  }

  /**
   * Records the bytes of a completed resumable upload exactly as a raw upload of that name
   * (API.md, "Resumable upload"); `alongside` runs in the same transaction (it ends the upload).
   */
  recordCompleted(
    caller: SessionUser,
    filename: string,
    contentType: string,
    staged: StagedBlob,
    alongside: (trx: Knex.Transaction) => Promise<void>,
  ): Promise<UploadReply> {
    return this.record(caller, filename, contentType, staged, undefined, alongside);
  }

  /** Records bytes already staged (a multipart upload stages before it knows the request is whole). */
  private async record(
    caller: SessionUser,
    filename: string,
    contentType: string,
    staged: StagedBlob,
    expectedSha256?: string,
    alongside?: (trx: Knex.Transaction) => Promise<void>,
  ): Promise<UploadReply> {
    try {
      if (expectedSha256 !== undefined && expectedSha256.toLowerCase() !== staged.sha256) {
        throw new AppError('DIGEST_MISMATCH', `the received bytes have SHA-256 ${staged.sha256}, not ${expectedSha256.toLowerCase()}`);
      }
      let isPublishedUnrecorded = false;
      const { reply, released } = await inTransaction(this.db, async (trx) => {
        const files = new FileRepository(trx);
        // Locked by id once seen: a locking read of an absent digest would take MySQL's gap lock,
        // on which concurrent uploads of new content deadlock when they insert it.
        const seen = await files.findBlob(staged.sha256);
        let blob = seen && (await files.lockBlobById(seen.id));
        let deduplicated = false;
        if (blob) {
          deduplicated = await this.disclosure.mayDisclose(files, caller.userId, blob.sha256, blob);
          if (blob.isDamaged) {
            // Quarantined: these verified bytes replace the damaged ones (API.md, "Scrub and verify").
            await this.store.delete(blob.sha256, trx);
            await staged.publish(trx);
            await files.markRestored(blob.id, this.clock());
          } else if (!(await this.store.stat(blob.sha256, trx))) {
            // The row outlived its bytes (a crash between unlink and commit): these bytes repair it.
            await staged.publish(trx);
            await files.markRestored(blob.id, this.clock());
          }
        } else {
          // The row first: a concurrent upload of this content waits on it (and retries) meanwhile.
          blob = await files.insertBlob(staged.sha256, staged.size, this.clock());
          await staged.publish(trx);
          isPublishedUnrecorded = true;
        }
        const { replaced, released } = await this.attach(trx, caller, filename, contentType, blob);
        await alongside?.(trx);
        return { reply: { filename, sha256: staged.sha256, size: staged.size, deduplicated, replaced }, released };
      }).catch(async (error: unknown) => {
        // The bytes went out under their digest but the row never committed (a full disk, an outage).
        if (isPublishedUnrecorded) await this.discardUnrecorded(staged.sha256).catch(() => {});
        throw error;
      });
      await this.collect(released);
      return reply;
    } finally {
      await staged.discard();
    }
  }

  /**
   * Points the caller's file NAME at `blob` (locked by the caller's transaction): a new file, or
   * the same file with new content so that its friends keep access. Returns whether it replaced,
   * and the blob it stopped using when that one is now unreferenced: `collect` it after commit.
   */
  async attach(
    trx: Knex.Transaction,
    caller: SessionUser,
    filename: string,
    contentType: string,
    blob: BlobRecord,
  ): Promise<{ replaced: boolean; released: number | null }> {
    const now = this.clock();
    const files = new FileRepository(trx);
    const existing = await files.findOwned(caller.userId, filename);
    const current = existing && (await files.lockFile(existing.id));
    const owners = new ContentOwnerRepository(trx);
    const ledger = new UsageLedger();
    // Gone or handed over since the snapshot: the name is free for a new file of the caller's.
    if (!existing || !current || current.ownerId !== caller.userId) {
      await files.insertFile({
        ownerId: caller.userId,
        ownerKey: usernameKey(caller.username),
        filename,
        blobId: blob.id,
        contentType,
        now,
      });
      await files.changeRefCount(blob.id, 1);
      await owners.gain(blob.id, caller.userId, 1, ledger);
      await ledger.add(caller.userId, { files: 1, bytes: blob.size }).apply(trx, this.callerQuota('this upload'));
      return { replaced: false, released: null };
    }
    await files.updateContent(existing.id, blob.id, contentType, now);
    if (current.blobId === blob.id) return { replaced: true, released: null };
    await files.changeRefCount(blob.id, 1);
    await owners.gain(blob.id, caller.userId, 1, ledger);
    const previous = await this.release(files, current.blobId);
    await owners.lose(current.blobId, caller.userId, 1, ledger);
    await ledger.add(caller.userId, { files: 0, bytes: blob.size - (previous?.size ?? 0) }).apply(trx, this.callerQuota('this upload'));
    return { replaced: true, released: isUnreferenced(previous) };
  }

  /** Owner only; every friend loses access with the file. */
  async delete(caller: SessionUser, rawFilename: string | undefined, owner?: string): Promise<{ filename: string; deleted: true }> {
    const { filename, released } = await inTransaction(this.db, async (trx) => {
      const file = await this.resolve(caller, rawFilename, owner, { within: trx });
      const files = new FileRepository(trx);
      const current = await files.lockFile(file.id);
      if (!current) throw fileNotFound(file.filename);
      if (current.ownerId !== caller.userId) throw new AppError('NOT_OWNER', `only the owner of '${file.filename}' may delete it`);
      await files.deleteFile(file.id);
      const previous = await this.release(files, current.blobId);
      const ledger = new UsageLedger();
      await new ContentOwnerRepository(trx).lose(current.blobId, caller.userId, 1, ledger);
      await new AuditRepository(trx).record({
        action: 'delete',
        at: this.clock(),
        actorId: caller.userId,
        targetId: null,
        ownerId: caller.userId,
        filename: file.filename,
        address: caller.address ?? null,
      });
      await ledger.add(caller.userId, { files: -1, bytes: -(previous?.size ?? 0) }).apply(trx);
      return { filename: file.filename, released: isUnreferenced(previous) };
    });
    await this.collect(released);
    return { filename, deleted: true };
  }

  /** Drops one reference to a blob; returns the blob as it was before (locked), if it exists. */
  private async release(files: FileRepository, blobId: number): Promise<BlobRecord | undefined> {
    const blob = await files.lockBlobById(blobId);
    if (blob) await files.changeRefCount(blobId, -1);
    return blob;
  }

  /**
   * Removes an unreferenced blob: its row and its bytes, with the row locked so that a
   * concurrent upload or claim of the same content waits, then stores it anew. Should the
   * commit fail after the unlink, the row stays at zero references (no file points at it);
   * uploads restore missing bytes, claims refuse them, and the next sweep removes the row.
   */
  async collect(blobId: number | null): Promise<void> {
    if (blobId === null) return;
    await inTransaction(this.db, async (trx) => {
      const files = new FileRepository(trx);
      const blob = await files.lockBlobById(blobId);
      if (!blob || blob.refCount > 0) return;
      await files.deleteBlob(blobId);
      await this.store.delete(blob.sha256, trx);
    });
  }

  /** Removes the bytes of `sha256` unless a blob row (locked meanwhile) records them. */
  private async discardUnrecorded(sha256: string): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      if (await new FileRepository(trx).findBlob(sha256, true)) return;
      await this.store.delete(sha256, trx);
    });
  }

  /**
   * Removes the stored bytes that no blob row records: an upload publishes its bytes, then
   * commits their row, and a crash in between leaves them behind. Only while nothing uploads:
   * an upload in flight has published bytes whose row is not committed yet, so this runs at
   * start-up, before the server listens (with the file store, one instance serves the data).
   * Returns how many were removed.
   */
  async removeUnrecordedBeforeListening(): Promise<number> {
    const files = new FileRepository(this.db);
    let removed = 0;
    const check = async (digests: string[]) => {
      const recorded = await files.recordedDigests(digests);
      for (const sha256 of digests) {
        if (recorded.has(sha256)) continue;
        await this.store.delete(sha256);
        removed++;
      }
    };
    let batch: string[] = [];
    for await (const sha256 of this.store.list()) {
      batch.push(sha256);
      if (batch.length < UNRECORDED_BATCH) continue;
      await check(batch);
      batch = [];
    }
    if (batch.length > 0) await check(batch);
    return removed;
  }

  /** Collects every unreferenced blob (left by a crash between a delete and its collection). */
  async collectGarbage(): Promise<number> {
    const ids = await new FileRepository(this.db).unreferencedBlobIds();
    for (const id of ids) await this.collect(id);
    return ids.length;
  }

  /** Writes one inclusive range of the file's bytes to `destination`. */
  copyContent(file: FileRecord, range: { start: number; end: number }, destination: Writable): Promise<void> {
    return this.store.copyTo(file.sha256, range, destination);
  }
}

/** 507 naming the quota, so that nobody takes it for a full disk. */
export function overQuota(quotaBytes: number, bytesAfter: number, what: string): AppError {
  return new AppError(
    'INSUFFICIENT_STORAGE',
    `${what} would exceed the storage quota: ${bytesAfter} bytes of files, over the quota of ${quotaBytes} bytes; nothing was stored`,
  );
}

/**
 * Busboy reports a malformed body (no boundary, a part cut short) as a plain Error; everything
 * else that can fail here carries a code (ours, Fastify's, or the file system's errno).
 */
function isMalformedMultipart(error: unknown): boolean {
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  return !(error instanceof AppError) && code === undefined && statusCode === undefined;
}
