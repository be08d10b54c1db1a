import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { SlabSink } from './slab-writer.js';

const MiB = 1024 * 1024;
/** S3's smallest part but the last one is 5 MiB; 8 MiB parts keep a 5 GiB upload at 640 parts. */
const PART_BYTES = 8 * MiB;
/** S3's most parts in one upload. */
const MAX_PARTS = 10_000;
/** Part buffers kept for the next upload, so that each upload does not fault in fresh memory. */
const CACHED_PARTS = 4;

/** Parts large enough that `maxBytes` fits in S3's 10,000 parts, in whole MiB. */
export function partBytesFor(maxBytes: number): number {
  return Math.max(PART_BYTES, Math.ceil(maxBytes / MAX_PARTS / MiB) * MiB);
}

/**
 * Streams one object into the store as the slab writer hands over its slabs: bytes gather in a
 * part buffer; each full part is sent (UploadPart) while the next one fills, so an upload holds
 * at most two parts in memory. A body smaller than one part is sent whole with PutObject.
 * Every byte goes to the store once: nothing is copied or renamed afterwards.
 */
export class S3ObjectUpload implements SlabSink {
  private static readonly spareParts = new Map<number, Buffer[]>();

  private uploadId: string | null = null;
  private readonly parts: CompletedPart[] = [];
  private filling: Buffer | null = null;
  private filled = 0;
  private size = 0;
  private sending: Promise<void> = Promise.resolve();
  private sendError: unknown = null;
  /** Slabs are taken in the order they were handed over, one at a time. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    readonly key: string,
    private readonly partBytes: number,
  ) {}

  /** Takes a copy of the slab, once there is room for it; `position` is where the last one ended. */
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<void> {
    const taking = this.queue.then(() => {
      if (position !== this.size) throw new Error(`slab at ${position}, expected ${this.size}`);
      return this.take(buffer.subarray(offset, offset + length));
    });
    this.queue = taking.catch(() => {});
    return taking;
  }

  /** Sends what is left and makes the object; resolves once the store holds it whole. */
  async finish(): Promise<void> {
    await this.queue;
    if (this.uploadId === null) {
      const body = this.filling?.subarray(0, this.filled) ?? Buffer.alloc(0);
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: body, ContentLength: body.length }));
      this.recycle();
      return;
    }
    if (this.filled > 0) await this.sendPart();
    await this.sending;
    if (this.sendError) throw this.sendError;
    // The answer's ETag is not read: Ceph RGW 16 leaves it empty. The parts' ETags are real.
    await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: this.parts },
      }),
    );
  }

  /** Gives up: the parts sent so far are dropped (or, where the engine cannot abort, left to the sweep). */
  async abort(): Promise<void> {
    await this.queue;
    await this.sending;
    this.recycle();
    if (this.uploadId === null) return;
    await this.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId }))
      .catch(() => {});
  }

  private async take(bytes: Buffer): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      if (this.sendError) throw this.sendError;
      this.filling ??= S3ObjectUpload.spareParts.get(this.partBytes)?.pop() ?? Buffer.allocUnsafe(this.partBytes);
      const copied = bytes.copy(this.filling, this.filled, offset);
      this.filled += copied;
      offset += copied;
      this.size += copied;
      if (this.filled === this.partBytes) await this.sendPart();
    }
  }

  /** Waits for the part before it to be sent, then starts sending the filled one. */
  private async sendPart(): Promise<void> {
    await this.sending;
    if (this.sendError) throw this.sendError;
    if (this.uploadId === null) {
      const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key }));
      this.uploadId = created.UploadId ?? null;
      if (this.uploadId === null) throw new Error('the store gave no UploadId');
    }
    const part = this.filling!;
    const length = this.filled;
    const partNumber = this.parts.length + 1;
    this.parts.push({ PartNumber: partNumber });
    this.filling = null;
    this.filled = 0;
    this.sending = this.client
      .send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: this.uploadId,
          PartNumber: partNumber,
          Body: part.subarray(0, length),
          ContentLength: length,
        }),
      )
      .then(
        (sent) => {
          this.parts[partNumber - 1].ETag = sent.ETag;
          this.release(part);
        },
        (error: unknown) => {
          this.sendError ??= error;
          this.release(part);
        },
      );
  }

  private recycle(): void {
    if (this.filling) this.release(this.filling);
    this.filling = null;
  }

  private release(part: Buffer): void {
    const spares = S3ObjectUpload.spareParts.get(this.partBytes) ?? [];
    if (spares.length < CACHED_PARTS) spares.push(part);
    S3ObjectUpload.spareParts.set(this.partBytes, spares);
  }
}
