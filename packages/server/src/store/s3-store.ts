import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { Knex } from 'knex';
import type { AppendOptions, BlobStore, ByteRange, RehashOptions, ResumableBytes, StagedBlob, Within, WriteOptions } from './blob-store.js';
import { isNotFound, isNotImplemented, refusalReason, translateS3Error } from './s3-errors.js';
import { PartPool } from './part-pool.js';
import { rehashStored } from './rehash.js';
import { S3ResumableUploads } from './s3-resumable.js';
import { S3ObjectUpload, SPILL_PREFIX, partBytesFor } from './s3-upload.js';
import { writeThroughSlabs } from './slab-writer.js';
import { createUploadBuffers, type UploadBuffers } from './upload-buffers.js';
import { writeFlushed } from './write-flushed.js';

const HOUR_MS = 3_600_000;
/** Our objects' names after the prefix: anything else under it is not ours to sweep. */
const OBJECT_NAME = /^[0-9a-f]{32}$/;
const LIST_PAGE = 1000;

/**
 * Where digests are mapped to objects, on a database handle (the store's own, or the caller's
 * transaction): repositories/blob-objects.ts, handed in by app.ts (store/ sits beside
 * repositories/, never above them).
 */
export interface BlobObjectMap {
  objectOf(sha256: string): Promise<string | undefined>;
  record(sha256: string, objectName: string, now: number): Promise<void>;
  /** Forgets the object of `sha256`; returns its name, if there was one. */
  forget(sha256: string): Promise<string | undefined>;
  /** Up to `limit` recorded digests after `after`, in order. */
  digestsAfter(after: string, limit: number): Promise<string[]>;
  /** Which of `objectNames` some digest points at. */
  recorded(objectNames: string[]): Promise<Set<string>>;
}

/** Which objects resumable uploads in progress are writing: repositories/resumable-uploads.ts. */
export interface ResumableKeys {
  activeStoreKeys(objectNames: string[]): Promise<Set<string>>;
}

export interface S3StoreOptions {
  client: S3Client;
  bucket: string;
  /** '' or a prefix ending in '/'. */
  prefix: string;
  db: Knex;
  /** The digest → object map on a database handle. */
  objects: (db: Knex) => BlobObjectMap;
  /** The objects of resumable uploads in progress, which the sweep leaves however old they are. */
  resumables?: (db: Knex) => ResumableKeys;
  /** Leftovers younger than this are never swept: a write may still be using them. */
  abandonedAfterMs?: number;
  clock?: () => number;
  /** Part buffers shared by every upload in flight (S3_PART_BUFFERS); each is one part (8 MiB by default). */
  partBuffers?: number;
  /** Where a stalled upload's unfinished part waits while its buffer serves others ($DATA_DIR/tmp); absent: never. */
  spillDirectory?: string;
}

/** Without S3_PART_BUFFERS (config.ts gives it): 64 MiB of 8 MiB parts. */
const DEFAULT_PART_BUFFERS = 8;

/** Objects this process is writing or holds staged: never an abandoned leftover. */
const liveObjects = new Set<string>();

/**
 * Blobs as objects of an S3-compatible store (AWS S3, MinIO, Ceph RGW, Garage), using only
 * the calls all of them serve. A write streams into `PREFIX/<32 hex>`, a name chosen before
 * the digest is known; publishing records digest → object in the database (blob_objects).
 */
export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly db: Knex;
  private readonly objects: (db: Knex) => BlobObjectMap;
  private readonly resumables: (db: Knex) => ResumableKeys;
  private readonly resumableUploads: S3ResumableUploads;
  private readonly abandonedAfterMs: number;
  private readonly clock: () => number;
  /** The same slab pool and hashing threads as the file store's, made at the first write. */
  private uploadBuffers: UploadBuffers | null = null;
  /** The part buffers of every upload in flight, one fixed pool, made at the first write. */
  private partPool: PartPool | null = null;
  private readonly partBuffers: number;
  private readonly spillDirectory: string | null;

  constructor(options: S3StoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.db = options.db;
    this.objects = options.objects;
    this.resumables = options.resumables ?? (() => ({ activeStoreKeys: async () => new Set<string>() }));
    this.resumableUploads = new S3ResumableUploads(this.client, this.bucket, this.prefix);
    this.abandonedAfterMs = options.abandonedAfterMs ?? HOUR_MS;
    this.clock = options.clock ?? Date.now;
    this.partBuffers = options.partBuffers ?? DEFAULT_PART_BUFFERS;
    this.spillDirectory = options.spillDirectory ?? null;
  }

  /** The part pool's size and the most buffers in use at once so far (for tests and diagnostics). */
  partBufferUse(): { count: number; partBytes: number; inUse: number; mostInUse: number } | null {
    const pool = this.partPool;
    return pool && { count: pool.count, partBytes: pool.partBytes, inUse: pool.inUse, mostInUse: pool.mostInUse };
  }

  /** Refuses to start, with one line saying why, when the bucket cannot be used. */
  async init(): Promise<void> {
    if (this.spillDirectory !== null) await mkdir(this.spillDirectory, { recursive: true, mode: 0o700 });
    try {
      await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, MaxKeys: 1 }));
    } catch (error) {
      const reason = refusalReason(error) ?? `${(error as Error).name}: ${(error as Error).message}`;
      throw new Error(`BLOB_STORE s3://${this.bucket}/${this.prefix}: ${reason}`, { cause: error });
    }
  }

  async write(source: Readable, { maxBytes }: WriteOptions): Promise<StagedBlob> {
    const objectName = this.prefix + randomBytes(16).toString('hex');
    const partBytes = partBytesFor(maxBytes);
    this.partPool ??= new PartPool(this.partBuffers, partBytes);
    // MAX_UPLOAD_BYTES is one setting: every write of a server asks for the same part size.
    if (partBytes > this.partPool.partBytes)
      throw new Error(`parts of ${partBytes} bytes do not fit the pool's ${this.partPool.partBytes}`);
    const upload = new S3ObjectUpload(this.client, this.bucket, objectName, this.partPool, this.spillDirectory);
    liveObjects.add(objectName);
    let written: { sha256: string; size: number };
    try {
      this.uploadBuffers ??= createUploadBuffers();
      written = await writeThroughSlabs(source, upload, this.uploadBuffers.slabs, this.uploadBuffers.hashing, maxBytes);
      await upload.finish();
    } catch (error) {
      // An object that the store made all the same (an answer lost on the way) is left to the sweep.
      await upload.abort();
      liveObjects.delete(objectName);
      throw translateS3Error(error);
    }
    return this.staged(objectName, written.sha256, written.size);
  }

  /** The object `objectName` (whole, and live in this process) as a staged blob of digest `sha256`. */
  private staged(objectName: string, sha256: string, size: number): StagedBlob {
    return {
      sha256,
      size,
      publish: async (within?: Within) => {
        await this.objects(within ?? this.db).record(sha256, objectName, this.clock());
      },
      discard: async () => {
        if (!liveObjects.has(objectName)) return;
        // Published, and the caller's transaction committed it: the object is the blob now.
        if ((await this.objects(this.db).objectOf(sha256)) !== objectName) await this.deleteObject(objectName);
        liveObjects.delete(objectName);
      },
    };
  }

  async createResumable(): Promise<ResumableBytes> {
    return this.resumableUploads.create();
  }

  appendResumable(from: ResumableBytes, source: Readable, options: AppendOptions): Promise<ResumableBytes> {
    return this.resumableUploads.append(from, source, options);
  }

  async completeResumable(bytes: ResumableBytes, sha256: string): Promise<StagedBlob> {
    if (!this.resumableUploads.isComplete(bytes)) throw new Error(`resumable upload ${bytes.key} is not complete`);
    liveObjects.add(bytes.key);
    return this.staged(bytes.key, sha256, bytes.offset);
  }

  async discardResumable(bytes: ResumableBytes): Promise<void> {
    // A completed object that a digest points at is a blob now, not this upload's to remove.
    const isRecorded = (await this.objects(this.db).recorded([bytes.key])).has(bytes.key);
    await this.resumableUploads.discard(bytes, isRecorded);
  }

  read(sha256: string, range?: ByteRange): Readable {
    const output = new PassThrough();
    this.open(sha256, range, this.db).then(
      (body) => pipeline(body, output).catch((error: unknown) => output.destroy(error as Error)),
      (error: unknown) => output.destroy(error as Error),
    );
    return output;
  }

  async copyTo(sha256: string, range: ByteRange, destination: Writable): Promise<void> {
    const body = await this.open(sha256, range, this.db);
    try {
      for await (const chunk of body) await writeFlushed(destination, chunk as Buffer);
    } catch (error) {
      body.destroy();
      throw translateS3Error(error);
    }
  }

  async rehash(sha256: string, options?: RehashOptions): Promise<{ sha256: string; size: number } | null> {
    this.uploadBuffers ??= createUploadBuffers();
    return rehashStored(this, this.uploadBuffers, sha256, options);
  }

  async stat(sha256: string, within?: Within): Promise<{ size: number } | null> {
    const objectName = await this.objects(within ?? this.db).objectOf(sha256);
    if (objectName === undefined) return null;
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectName }));
      return { size: Number(head.ContentLength ?? 0) };
    } catch (error) {
      // Recorded but gone (an object deleted by a collection whose commit then failed).
      if (isNotFound(error)) return null;
      throw translateS3Error(error);
    }
  }

  async delete(sha256: string, within?: Within): Promise<void> {
    const objectName = await this.objects(within ?? this.db).forget(sha256);
    if (objectName !== undefined) await this.deleteObject(objectName);
  }

  async isAvailable(): Promise<boolean> {
    return this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, MaxKeys: 1 })).then(
      () => true,
      () => false,
    );
  }

  async close(): Promise<void> {
    await this.uploadBuffers?.hashing.close();
    this.uploadBuffers = null;
    this.client.destroy();
  }

  /** The digests recorded in the map: an object is published once a digest points at it. */
  async *list(): AsyncIterable<string> {
    const objects = this.objects(this.db);
    let after = '';
    for (;;) {
      const page = await objects.digestsAfter(after, LIST_PAGE);
      yield* page;
      if (page.length < LIST_PAGE) return;
      after = page[page.length - 1];
    }
  }

  /**
   * Aborts multipart uploads that no part reached for an hour, and removes objects that no digest
   * points at and that are an hour old: what a crash or a lost connection left.
   */
  async sweepTemporary(): Promise<number> {
    try {
      return (await this.abortAbandonedUploads()) + (await this.removeUnrecordedObjects()) + (await this.removeOldSpills());
    } catch (error) {
      throw translateS3Error(error);
    }
  }

  private async abortAbandonedUploads(): Promise<number> {
    const cutoff = this.clock() - this.abandonedAfterMs;
    let aborted = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: this.prefix,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        );
      } catch (error) {
        // s3rver, a test double, lists no uploads; every real engine does.
        if (isNotImplemented(error)) return 0;
        throw error;
      }
      for (const upload of page.Uploads ?? []) {
        const { Key: key, UploadId: uploadId, Initiated: initiated } = upload;
        if (!key || !uploadId || !this.isOurs(key) || liveObjects.has(key)) continue;
        if (!initiated || initiated.getTime() > cutoff) continue;
        // A resumable upload waits up to a day between PATCHes; its own expiry removes it.
        if ((await this.resumables(this.db).activeStoreKeys([key])).has(key)) continue;
        if (await this.abortIfAbandoned(key, uploadId, cutoff)) aborted++;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined);
    return aborted;
  }

  /**
   * Aborts the upload unless a part reached it since `cutoff`. Another instance's sweep may have
   * aborted it meanwhile (instances sweep at once when they start together): gone is done.
   */
  private async abortIfAbandoned(key: string, uploadId: string, cutoff: number): Promise<boolean> {
    try {
      if ((await this.lastPartTime(key, uploadId)) > cutoff) return false;
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /** When the newest part of an upload arrived (0 when none did): a slow upload is not an abandoned one. */
  private async lastPartTime(key: string, uploadId: string): Promise<number> {
    let newest = 0;
    let marker: string | undefined;
    do {
      const page = await this.client.send(
        new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker }),
      );
      for (const part of page.Parts ?? []) newest = Math.max(newest, part.LastModified?.getTime() ?? 0);
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker !== undefined);
    return newest;
  }

  private async removeUnrecordedObjects(): Promise<number> {
    const cutoff = this.clock() - this.abandonedAfterMs;
    const objects = this.objects(this.db);
    let removed = 0;
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken: token }));
      const candidates = (page.Contents ?? [])
        .filter((object) => object.Key && this.isOurs(object.Key) && !liveObjects.has(object.Key))
        .filter((object) => (object.LastModified?.getTime() ?? 0) <= cutoff)
        .map((object) => object.Key!);
      const recorded = await objects.recorded(candidates);
      const resumable = await this.resumables(this.db).activeStoreKeys(candidates);
      for (const key of candidates) {
        if (recorded.has(key) || resumable.has(key) || liveObjects.has(key)) continue;
        await this.deleteObject(key);
        removed++;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return removed;
  }

  /** Spill files a crash left: a live one is minutes old at most (its client is cut off after BODY_IDLE_TIMEOUT_MS). */
  private async removeOldSpills(): Promise<number> {
    if (this.spillDirectory === null) return 0;
    const cutoff = this.clock() - this.abandonedAfterMs;
    let removed = 0;
    for (const name of await readdir(this.spillDirectory).catch(() => [])) {
      if (!name.startsWith(SPILL_PREFIX)) continue;
      const file = path.join(this.spillDirectory, name);
      const modified = await stat(file).then(
        (found) => found.mtimeMs,
        () => Infinity,
      );
      if (modified > cutoff) continue;
      await rm(file, { force: true });
      removed++;
    }
    return removed;
  }

  private isOurs(key: string): boolean {
    return key.startsWith(this.prefix) && OBJECT_NAME.test(key.slice(this.prefix.length));
  }

  /** The object's bytes (one range of them); rejects when the digest is not stored. */
  private async open(sha256: string, range: ByteRange | undefined, within: Knex): Promise<Readable> {
    const objectName = await this.objects(within).objectOf(sha256);
    if (objectName === undefined) throw new Error(`blob ${sha256} is not stored`);
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: objectName, Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      );
      const body = object.Body as Readable;
      if (!range) return body;
      // An engine that ignores Range answers 200 with the whole object (s3rver does for bytes=0-0).
      if (object.ContentRange === undefined && range.start !== 0) {
        body.destroy();
        throw new Error(`the store ignored the range ${range.start}-${range.end} of ${objectName}`);
      }
      return Readable.from(firstBytes(body, range.end - range.start + 1), { objectMode: false });
    } catch (error) {
      throw translateS3Error(error);
    }
  }

  private async deleteObject(objectName: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: objectName }));
    } catch (error) {
      if (!isNotFound(error)) throw translateS3Error(error);
    }
  }
}

/** The first `length` bytes of `body`; the rest is not read (the request is cut). */
async function* firstBytes(body: Readable, length: number): AsyncGenerator<Buffer> {
  let left = length;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (chunk.length >= left) {
      yield chunk.subarray(0, left);
      return;
    }
    left -= chunk.length;
    yield chunk;
  }
}
