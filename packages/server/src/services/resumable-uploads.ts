import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { MEDIA_TYPE_MAX_BYTES, SHA256_HEX_PATTERN, isMediaType } from '@cloudstore/shared';
import type { Knex } from 'knex';
import { AppError, validationFailed } from '../errors.js';
import { ResumableUploadRepository, type ResumableUploadRecord } from '../repositories/resumable-uploads.js';
import type { SessionUser } from '../repositories/sessions.js';
import { inTransaction } from '../repositories/transaction.js';
import type { BlobStore, ResumableBytes } from '../store/blob-store.js';
import { DEFAULT_CONTENT_TYPE, checkedFilename, type FileService } from './files.js';
import { NEW_FAST_HASH, ResumableHashing, type ResumableHash } from './resumable-hashing.js';

/** API.md: an upload that receives nothing for 24 hours expires. */
export const RESUMABLE_EXPIRY_MS = 24 * 3_600_000;
/** Expired uploads are removed within an hour: swept this often. */
export const RESUMABLE_SWEEP_INTERVAL_MS = 10 * 60_000;
/** API.md: unfinished uploads per user. */
export const RESUMABLE_UPLOADS_PER_USER = 32;
/**
 * A request holds its upload's lease this long, renewed every LEASE_CHECK_MS while it runs:
 * should its instance die, the upload can be resumed elsewhere once the lease runs out.
 */
const LEASE_MS = 30_000;
/** How often a PATCH renews its lease, and so finds out that another request asked for it. */
const LEASE_CHECK_MS = 1000;
/** How long a request waits for the holder of its upload's lease to let go, before 409. */
const LEASE_WAIT_MS = 10_000;
const LEASE_POLL_MS = 25;
/** Threads that hash resumable uploads. */
const HASH_THREADS = 2;
/** Bytes of one PATCH queued for hashing: at most twice this (see hashPacer). */
const HASH_BACKLOG_BYTES = 8 * 1024 * 1024;
const EXPIRED_BATCH = 100;
const sha256Hex = new RegExp(SHA256_HEX_PATTERN);

export interface ResumableOptions {
  maxUploadBytes: number;
  expiryMs?: number;
  clock?: () => number;
}

/** What tus's headers tell of an upload. */
export interface UploadProgress {
  id: string;
  offset: number;
  length: number;
  metadata: string;
  expiresAt: number;
  /** Set once the upload completed and was recorded as a file: its content's SHA-256. */
  sha256?: string;
}

export interface NewUpload {
  length: number;
  /** Upload-Metadata decoded. */
  metadata: Record<string, string>;
  /** Upload-Metadata as sent, given back by HEAD. */
  rawMetadata: string;
}

/**
 * Paces the bytes given to a hashing thread, which may be slower than a fast client: at every
 * HASH_BACKLOG_BYTES, asks the thread to say once it has hashed them, and returns its answer
 * about the batch before (to wait for), so that the thread always has the next batch queued and
 * the PATCH waits only when the thread falls behind. Waiting for each batch's own answer instead
 * left the thread idle at every one (a bubble every 16 MiB).
 */
function hashPacer(hash: ResumableHash): (bytes: number) => Promise<void> | undefined {
  let unhashed = 0;
  let previous: Promise<void> | undefined;
  return (bytes) => {
    unhashed += bytes;
    if (unhashed < HASH_BACKLOG_BYTES) return undefined;
    unhashed = 0;
    const before = previous;
    previous = hash.sync();
    previous.catch(() => {});
    return before;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const notFound = () => new AppError('FILE_NOT_FOUND', 'no upload with that id is visible to you');
const busy = () =>
  new AppError('UPLOAD_OFFSET_MISMATCH', 'another request holds this upload and did not let go; HEAD it and resume from its offset');
/** The upload was ended (terminated, expired) while a PATCH wrote to it. */
class UploadEnded extends Error {}

/**
 * Resumable uploads (tus 1.0, API.md "Resumable upload"): state in the database so that any
 * instance takes any request, bytes in the store (BlobStore's resumable calls), the SHA-256
 * state saved with each durable point so that completion never re-reads a byte, and the
 * completed upload recorded by FileService exactly as a raw upload. Where the store can read an
 * unfinished upload back (the file store), the hash is node:crypto's, four times faster than a
 * saveable one: its state stays in this process, and a PATCH that lands elsewhere (another
 * instance, a restart) reads the stored bytes again to rebuild it (see resumable-hashing.ts).
 */
export class ResumableUploadService {
  private readonly maxUploadBytes: number;
  private readonly expiryMs: number;
  private readonly clock: () => number;
  /** The PATCHes this process is running, by upload id: how to stop each when another request wants its upload. */
  private readonly running = new Map<string, () => void>();
  /** Made at the first upload: a server that takes none starts no thread. */
  private hashing: ResumableHashing | null = null;

  constructor(
    private readonly db: Knex,
    private readonly store: BlobStore,
    private readonly files: FileService,
    options: ResumableOptions,
  ) {
    this.maxUploadBytes = options.maxUploadBytes;
    this.expiryMs = options.expiryMs ?? RESUMABLE_EXPIRY_MS;
    this.clock = options.clock ?? Date.now;
  }

  /**
   * Creates an upload after checking everything about it (API.md: before any byte is stored);
   * `body` (creation-with-upload) is then appended as a first PATCH would be.
   */
  async create(caller: SessionUser, upload: NewUpload, body?: Readable): Promise<UploadProgress> {
    if (upload.length > this.maxUploadBytes) {
      throw new AppError('PAYLOAD_TOO_LARGE', `the upload is larger than the limit of ${this.maxUploadBytes} bytes`);
    }
    const { metadata } = upload;
    const filename = checkedFilename(metadata.filename);
    const contentType = metadata.content_type ?? DEFAULT_CONTENT_TYPE;
    if (!isMediaType(contentType)) {
      throw validationFailed(`content_type must be a type/subtype media type of at most ${MEDIA_TYPE_MAX_BYTES} bytes`);
    }
    if (metadata.sha256 !== undefined && !sha256Hex.test(metadata.sha256)) throw validationFailed('sha256 must be 64 hexadecimal digits');
    // QUOTA_BYTES: refused before a byte is stored, as a raw upload of this length would be.
    await this.files.ensureRoom(caller, upload.length, filename);
    const id = randomBytes(16).toString('hex');
    const initialState = this.store.readResumable ? NEW_FAST_HASH : await this.portableStart(id);
    const bytes = await this.store.createResumable();
    const now = this.clock();
    const record: ResumableUploadRecord = {
      id,
      userId: caller.userId,
      filename,
      contentType,
      expectedSha256: metadata.sha256?.toLowerCase() ?? null,
      metadata: upload.rawMetadata,
      length: upload.length,
      received: 0,
      hashState: initialState,
      storeKey: bytes.key,
      storeState: bytes.state,
      createdAt: now,
      expiresAt: now + this.expiryMs,
    };
    await inTransaction(this.db, async (trx) => {
      const uploads = new ResumableUploadRepository(trx);
      if ((await uploads.countUnfinished(caller.userId, now)) >= RESUMABLE_UPLOADS_PER_USER) {
        throw new AppError('RATE_LIMITED', `at most ${RESUMABLE_UPLOADS_PER_USER} unfinished uploads per user: finish or delete one first`);
      }
      await uploads.insert(record);
    });
    // An empty upload is complete at once: recorded now, like an empty raw upload.
    if (!body && upload.length > 0) return this.progressOf(record);
    try {
      return await this.append(caller, record.id, 0, body ?? Readable.from([]));
    } catch (error) {
      // Its creator never learnt its Location: nobody could resume it.
      await this.terminate(caller, record.id).catch(() => {});
      throw error;
    }
  }

  /**
   * The upload's progress (HEAD); another user's, an expired or a completed one is 404. A PATCH
   * still writing the upload is stopped first (it keeps what is durable), so that the offset is
   * the one to resume from: the client that sends a HEAD has given up on that PATCH.
   */
  async status(caller: SessionUser, id: string): Promise<UploadProgress> {
    await this.find(caller, id);
    const lease = await this.lease(id);
    try {
      return this.progressOf(await this.find(caller, id));
    } finally {
      await lease.release();
    }
  }

  /**
   * Takes the upload's lease, for the one request at a time that may touch it (on any instance).
   * A request still holding it is asked to stop — directly in this process, through the database
   * elsewhere — as tusd does: a client that reconnects after its link dropped must not wait for
   * the server to notice that the old connection is dead. 409 when the holder does not let go.
   */
  private async lease(id: string): Promise<{ token: string; release: () => Promise<void> }> {
    const uploads = new ResumableUploadRepository(this.db);
    const token = randomBytes(16).toString('hex');
    const deadline = this.clock() + LEASE_WAIT_MS;
    let hasAsked = false;
    while (!(await uploads.takeLease(id, token, this.clock(), this.clock() + LEASE_MS))) {
      if (!hasAsked) {
        this.running.get(id)?.();
        await uploads.requestRelease(id);
        hasAsked = true;
      }
      if (this.clock() >= deadline) throw busy();
      await sleep(LEASE_POLL_MS);
    }
    return { token, release: () => uploads.releaseLease(id, token).catch(() => {}) };
  }

  /**
   * Appends `body` at `offset` (a PATCH): under the upload's lease, so that one PATCH at a time
   * writes it, whichever instance takes it. Completes the upload when its last byte arrives.
   */
  async append(caller: SessionUser, id: string, offset: number, body: Readable, declaredLength?: number): Promise<UploadProgress> {
    const record = await this.find(caller, id);
    if (declaredLength !== undefined && offset + declaredLength > record.length) {
      throw new AppError('PAYLOAD_TOO_LARGE', `the body runs past the upload's length of ${record.length} bytes`);
    }
    const uploads = new ResumableUploadRepository(this.db);
    const { token, release } = await this.lease(id);
    const stop = () => body.destroy(new Error('another request took this upload over'));
    this.running.set(id, stop);
    const renewal = setInterval(() => {
      uploads.renewLease(id, token, this.clock() + LEASE_MS).then(
        (isHeld) => isHeld || stop(),
        () => {},
      );
    }, LEASE_CHECK_MS);
    let latest: ResumableBytes = { key: record.storeKey, state: record.storeState, offset: record.received };
    let hash: ResumableHash | null = null;
    try {
      // Read again under the lease: a PATCH stopped meanwhile may have moved the offset.
      const current = await this.find(caller, id);
      if (current.received !== offset) {
        throw new AppError('UPLOAD_OFFSET_MISMATCH', `Upload-Offset is ${offset}, but ${current.received} bytes were received`);
      }
      latest = { key: current.storeKey, state: current.storeState, offset: current.received };
      hash = this.hashes().open(current.hashState, id, current.received);
      const opened = hash;
      await this.catchUp(opened, latest);
      const paced = hashPacer(opened);
      const bytes = await this.store.appendResumable(latest, body, {
        length: current.length,
        onBytes: (chunk) => {
          opened.update(chunk);
          return paced(chunk.length);
        },
        onSharedBytes: (view) => opened.updateShared(view),
        checkpoint: async (durable) => {
          latest = durable;
          const progress = {
            received: durable.offset,
            hashState: await opened.save(),
            storeState: durable.state,
            expiresAt: this.clock() + this.expiryMs,
          };
          if (!(await uploads.checkpoint(id, token, progress, this.clock() + LEASE_MS))) throw new UploadEnded();
        },
      });
      const expiresAt = this.clock() + this.expiryMs;
      if (bytes.offset < current.length) return { ...this.progressOf(current), offset: bytes.offset, expiresAt };
      hash = null;
      const sha256 = await this.complete(caller, current, bytes, await opened.digest(), token);
      return { ...this.progressOf(current), offset: bytes.offset, expiresAt, sha256 };
    } catch (error) {
      if (!(error instanceof UploadEnded)) throw error;
      // Terminated or expired meanwhile: what this PATCH wrote after that goes too.
      await this.store.discardResumable(latest);
      throw notFound();
    } finally {
      clearInterval(renewal);
      hash?.end();
      if (this.running.get(id) === stop) this.running.delete(id);
      await release();
    }
  }

  /** DELETE: the bytes received are discarded, then the upload is forgotten. */
  async terminate(caller: SessionUser, id: string): Promise<void> {
    await this.find(caller, id);
    const { token, release } = await this.lease(id);
    try {
      const record = await this.find(caller, id);
      await this.store.discardResumable({ key: record.storeKey, state: record.storeState, offset: record.received });
      await new ResumableUploadRepository(this.db).delete(id, token);
      this.hashing?.forget(id);
    } finally {
      await release();
    }
  }

  /** Removes the uploads that expired (nothing received for the expiry time): their bytes, then their rows. Returns how many. */
  async removeExpired(): Promise<number> {
    const uploads = new ResumableUploadRepository(this.db);
    const now = this.clock();
    let removed = 0;
    for (const record of await uploads.expired(now, EXPIRED_BATCH)) {
      const token = randomBytes(16).toString('hex');
      if (!(await uploads.takeLease(record.id, token, now, now + LEASE_MS))) continue;
      await this.store.discardResumable({ key: record.storeKey, state: record.storeState, offset: record.received });
      if (await uploads.delete(record.id, token)) removed++;
      this.hashing?.forget(record.id);
    }
    return removed;
  }

  /** Digest check, then the file recorded as a raw upload would be, the upload's row gone in the same transaction. */
  private async complete(
    caller: SessionUser,
    record: ResumableUploadRecord,
    bytes: ResumableBytes,
    sha256: string,
    token: string,
  ): Promise<string> {
    try {
      if (record.expectedSha256 !== null && record.expectedSha256 !== sha256) {
        throw new AppError('DIGEST_MISMATCH', `the received bytes have SHA-256 ${sha256}, not ${record.expectedSha256}`);
      }
      const staged = await this.store.completeResumable(bytes, sha256);
      await this.files.recordCompleted(caller, record.filename, record.contentType, staged, async (trx) => {
        if (!(await new ResumableUploadRepository(trx).delete(record.id, token))) throw new UploadEnded();
      });
      return sha256;
    } catch (error) {
      // API.md: a mismatch discards the upload; so does a completion that could not be recorded.
      await this.store.discardResumable(bytes).catch(() => {});
      await new ResumableUploadRepository(this.db).delete(record.id).catch(() => {});
      throw error;
    }
  }

  /** The saved state of a portable hash of nothing yet. */
  private async portableStart(id: string): Promise<string> {
    const hash = this.hashes().open(null, id, 0);
    try {
      return await hash.save();
    } finally {
      hash.end();
    }
  }

  /**
   * Gives a hash that does not cover the upload's stored bytes (a fast one that another
   * instance or an earlier process continued) those bytes, read back from the store.
   */
  private async catchUp(hash: ResumableHash, bytes: ResumableBytes): Promise<void> {
    if (await hash.caughtUp) return;
    let read = 0;
    const paced = hashPacer(hash);
    for await (const chunk of this.store.readResumable!(bytes) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      read += chunk.length;
      await paced(chunk.length);
    }
    if (read !== bytes.offset) throw new Error(`resumable upload ${bytes.key} holds ${read} bytes, not the ${bytes.offset} recorded`);
  }

  private hashes(): ResumableHashing {
    this.hashing ??= new ResumableHashing(HASH_THREADS);
    return this.hashing;
  }

  /** Stops the hashing threads. */
  async close(): Promise<void> {
    await this.hashing?.close();
    this.hashing = null;
  }

  private async find(caller: SessionUser, id: string): Promise<ResumableUploadRecord> {
    const record = await new ResumableUploadRepository(this.db).findOwned(caller.userId, id, this.clock());
    if (!record) throw notFound();
    return record;
  }

  private progressOf(record: ResumableUploadRecord): UploadProgress {
    return { id: record.id, offset: record.received, length: record.length, metadata: record.metadata, expiresAt: record.expiresAt };
  }
}
