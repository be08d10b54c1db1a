import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { AppError } from '../errors.js';
import type { AppendOptions, ResumableBytes } from './blob-store.js';
import { isNotFound, isNotImplemented, translateS3Error } from './s3-errors.js';
import { partBytesFor } from './s3-upload.js';

/** S3's smallest part but the last. A shorter remainder waits in a tail object for the next PATCH. */
const MIN_PART_BYTES = 5 * 1024 * 1024;
/** Part buffers kept for the next PATCH, so that each one does not fault in fresh memory. */
const CACHED_BUFFERS = 4;

/**
 * Where a resumable upload's bytes are on S3 (kept as JSON in the upload's row): the parts of
 * its multipart upload, and the tail (fewer than MIN_PART_BYTES bytes, which no part may hold
 * until the end) as a small object of its own, `<key>.tail.<offset>`. `complete`: the object
 * `<key>` holds every byte.
 */
interface S3ResumableState {
  uploadId: string | null;
  parts: Array<{ number: number; etag: string; size: number }>;
  tail: { name: string; size: number } | null;
  complete?: true;
}

const EMPTY_STATE: S3ResumableState = { uploadId: null, parts: [], tail: null };

/**
 * Resumable uploads on an S3 store: each a multipart upload into the server-named object that
 * becomes the blob (no server-side copy once complete). A PATCH fills one part buffer; each
 * full part is sent and checkpointed, and what is left at the end of a PATCH becomes a part
 * (MIN_PART_BYTES or more, or the last bytes of the upload) or the tail object, which the next
 * PATCH, on any instance, reads back into its buffer. Memory: one part buffer per PATCH.
 */
export class S3ResumableUploads {
  private static readonly spareBuffers = new Map<number, Buffer[]>();

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {}

  create(): ResumableBytes {
    return { key: this.prefix + randomBytes(16).toString('hex'), state: JSON.stringify(EMPTY_STATE), offset: 0 };
  }

  isComplete(bytes: ResumableBytes): boolean {
    return (JSON.parse(bytes.state) as S3ResumableState).complete === true;
  }

  async append(from: ResumableBytes, source: Readable, { length, onBytes, checkpoint }: AppendOptions): Promise<ResumableBytes> {
    const { key } = from;
    let state = JSON.parse(from.state) as S3ResumableState;
    const partBytes = partBytesFor(length);
    const buffer = S3ResumableUploads.spareBuffers.get(partBytes)?.pop() ?? Buffer.allocUnsafe(partBytes);
    /** Bytes taken (durable or in `buffer`), and how many of them are durable. */
    let taken = from.offset;
    let durable = from.offset;
    let filled = 0;

    /** Makes every byte taken durable: a part, the completed object, or a new tail; then checkpoints. */
    const persist = async () => {
      const isLast = taken === length;
      if (state.complete || (taken === durable && !isLast)) return;
      const previousTail = state.tail;
      const bytes = buffer.subarray(0, filled);
      if (isLast && state.uploadId === null) {
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentLength: bytes.length }));
        state = { ...EMPTY_STATE, complete: true };
      } else if (isLast || filled >= MIN_PART_BYTES) {
        state = await this.sendPart(key, state, bytes);
        if (isLast) {
          await this.client.send(
            new CompleteMultipartUploadCommand({
              Bucket: this.bucket,
              Key: key,
              UploadId: state.uploadId!,
              MultipartUpload: { Parts: state.parts.map((part) => ({ PartNumber: part.number, ETag: part.etag })) },
            }),
          );
          state = { ...EMPTY_STATE, complete: true };
        }
      } else {
        const name = `${key}.tail.${taken}`;
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: name, Body: bytes, ContentLength: bytes.length }));
        state = { ...state, tail: { name, size: filled } };
      }
      if (!state.tail) filled = 0;
      durable = taken;
      await checkpoint({ key, state: JSON.stringify(state), offset: durable });
      if (previousTail && previousTail.name !== state.tail?.name) await this.deleteObject(previousTail.name);
    };

    try {
      if (state.tail) filled = await this.readInto(state.tail.name, buffer, state.tail.size);
      for await (const chunk of source as AsyncIterable<Buffer>) {
        if (taken + chunk.length > length) {
          throw new AppError('PAYLOAD_TOO_LARGE', `the body runs past the upload's length of ${length} bytes`);
        }
        for (let offset = 0; offset < chunk.length;) {
          const take = Math.min(chunk.length - offset, partBytes - filled);
          const piece = chunk.subarray(offset, offset + take);
          const paced = onBytes(piece);
          piece.copy(buffer, filled);
          filled += take;
          offset += take;
          taken += take;
          if (paced) await paced;
          if (filled === partBytes) await persist();
        }
      }
      await persist();
      return { key, state: JSON.stringify(state), offset: durable };
    } catch (error) {
      // Every byte that arrived (and was hashed) is kept: the client resumes after it.
      await persist().catch(() => {});
      throw translateS3Error(error);
    } finally {
      const spares = S3ResumableUploads.spareBuffers.get(partBytes) ?? [];
      if (spares.length < CACHED_BUFFERS) spares.push(buffer);
      S3ResumableUploads.spareBuffers.set(partBytes, spares);
    }
  }

  /** Removes what the upload stored: its multipart upload, its tails (a crash's included), and the object unless `keepObject`. */
  async discard(bytes: ResumableBytes, keepObject: boolean): Promise<void> {
    const state = JSON.parse(bytes.state) as S3ResumableState;
    try {
      if (state.uploadId !== null) {
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: bytes.key, UploadId: state.uploadId }))
          .catch((error: unknown) => {
            // s3rver, a test double, cannot abort (the parts stay until its files go); every real engine can.
            if (!isNotFound(error) && !isNotImplemented(error)) throw error;
          });
      }
      let token: string | undefined;
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${bytes.key}.tail.`, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) await this.deleteObject(object.Key!);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      if (!keepObject) await this.deleteObject(bytes.key);
    } catch (error) {
      throw translateS3Error(error);
    }
  }

  private async sendPart(key: string, state: S3ResumableState, bytes: Buffer): Promise<S3ResumableState> {
    let uploadId = state.uploadId;
    if (uploadId === null) {
      const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }));
      uploadId = created.UploadId ?? null;
      if (uploadId === null) throw new Error('the store gave no UploadId');
    }
    const number = state.parts.length + 1;
    const sent = await this.client.send(
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: number,
        Body: bytes,
        ContentLength: bytes.length,
      }),
    );
    if (!sent.ETag) throw new Error(`the store gave no ETag for part ${number} of ${key}`);
    return { uploadId, parts: [...state.parts, { number, etag: sent.ETag, size: bytes.length }], tail: null };
  }

  /** Reads the tail object into the start of `buffer`; returns its size. */
  private async readInto(name: string, buffer: Buffer, size: number): Promise<number> {
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: name }));
    let filled = 0;
    for await (const chunk of object.Body as AsyncIterable<Buffer>) {
      if (filled + chunk.length > size) throw new Error(`the tail ${name} is longer than the ${size} bytes recorded`);
      chunk.copy(buffer, filled);
      filled += chunk.length;
    }
    if (filled !== size) throw new Error(`the tail ${name} holds ${filled} bytes, not the ${size} recorded`);
    return filled;
  }

  private async deleteObject(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: name }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
