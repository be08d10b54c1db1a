import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { PartPool } from './part-pool.js';
import type { SlabSink } from './slab-writer.js';

const MiB = 1024 * 1024;
/** S3's smallest part but the last one is 5 MiB; 8 MiB parts keep a 5 GiB upload at 640 parts. */
const PART_BYTES = 8 * MiB;
/** S3's most parts in one upload. */
const MAX_PARTS = 10_000;
/**
 * An upload whose client sent nothing for this long, while others wait for a part buffer, gives
 * its buffers back (its bytes so far go to a spill file) and takes one again when bytes come.
 */
const STALL_MS = 500;
/** Spill files are named so: the sweep removes those a crash left. */
export const SPILL_PREFIX = 's3-spill-';

/** Parts large enough that `maxBytes` fits in S3's 10,000 parts, in whole MiB. */
export function partBytesFor(maxBytes: number): number {
  return Math.max(PART_BYTES, Math.ceil(maxBytes / MAX_PARTS / MiB) * MiB);
}

/**
 * Streams one object into the store as the slab writer hands over its slabs: bytes gather in a
 * part buffer; each full part is sent (UploadPart) while the next one fills. A body smaller than
 * one part is sent whole with PutObject. Every byte goes to the store once: nothing is copied or
 * renamed afterwards.
 *
 * Part buffers come from one fixed pool shared by every upload of the store (`parts`, slabs of a
 * whole part), never allocated per upload. An upload reserves a whole part buffer before it takes
 * its first slab (`reserve`, which the slab writer awaits holding no slab: its socket is paused
 * meanwhile), and from then on never waits for the pool again: when its part is full it takes a
 * second buffer only if one is free and nobody waits for it, and otherwise waits for its own
 * previous part to be sent and fills that buffer again. So whoever holds a part buffer can always
 * finish its part, and whoever waits holds nothing that others need: no deadlock, whatever the
 * number of uploads. A second buffer goes back to the pool as soon as another upload waits.
 *
 * A client that stalls must not keep its buffer from the others: once it has sent nothing for
 * STALL_MS while another upload waits, the bytes of its unfinished part (S3 takes no part under
 * 5 MiB but the last) are written to a spill file in `spillDirectory` and its buffers go back to
 * the pool; when its bytes come again, `reserve` takes a buffer (again holding no slab while it
 * waits) and reads them back. Only stalled uploads, and only under contention, touch the disk.
 */
export class S3ObjectUpload implements SlabSink {
  private uploadId: string | null = null;
  private readonly parts: CompletedPart[] = [];
  /** Pool slabs this upload holds: the one filling, and the one being sent. */
  private readonly held = new Set<number>();
  private filling = -1;
  private filled = 0;
  /** A held buffer that nothing uses right now (its part was sent). */
  private spare = -1;
  private size = 0;
  private sending: Promise<void> = Promise.resolve();
  private sendError: unknown = null;
  /** Slabs are taken in the order they were handed over, one at a time (and spills between them). */
  private queue: Promise<void> = Promise.resolve();
  private isSending = false;
  /** The slab writer is about to take a slab for this upload (between `reserve` and `write`). */
  private isAwaitingSlab = false;
  private isFinishing = false;
  private isSpillQueued = false;
  private stallTimer: NodeJS.Timeout | undefined;
  /** The bytes of the unfinished part, while the upload holds no buffer. */
  private spilled: { file: string; bytes: number } | null = null;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    readonly key: string,
    private readonly pool: PartPool,
    private readonly spillDirectory: string | null = null,
  ) {}

  /** A part buffer (with the spilled bytes back in it), from the pool, waiting for one to be free. */
  async reserve(signal: AbortSignal): Promise<void> {
    this.isAwaitingSlab = true;
    clearTimeout(this.stallTimer);
    // Slabs taken before are still being copied: no need to wait for them, unless a spill is under
    // way, which must finish first. The slab writer holds no slab for filling while it waits here.
    if (this.held.size > 0 && !this.isSpillQueued) return;
    await this.queue;
    await this.takeBuffer(signal);
  }

  /** Takes a copy of the slab, once there is room for it; `position` is where the last one ended. */
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<void> {
    this.isAwaitingSlab = false;
    clearTimeout(this.stallTimer);
    const taking = this.queue.then(async () => {
      if (position !== this.size) throw new Error(`slab at ${position}, expected ${this.size}`);
      await this.take(buffer.subarray(offset, offset + length));
      this.watchForStall();
    });
    this.queue = taking.catch(() => {});
    return taking;
  }

  /** Sends what is left and makes the object; resolves once the store holds it whole. */
  async finish(): Promise<void> {
    this.isFinishing = true;
    clearTimeout(this.stallTimer);
    await this.queue;
    try {
      if (this.spilled) await this.takeBuffer(new AbortController().signal);
      if (this.uploadId === null) {
        const body = this.filling === -1 ? Buffer.alloc(0) : this.pool.bytesOf(this.filling).subarray(0, this.filled);
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: body, ContentLength: body.length }));
        return;
      }
      if (this.filled > 0) await this.sendPart();
      await this.sending;
      if (this.sendError) throw this.sendError;
    } finally {
      this.releaseAll();
    }
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
    this.isFinishing = true;
    clearTimeout(this.stallTimer);
    await this.queue;
    await this.sending;
    this.releaseAll();
    if (this.spilled) await unlink(this.spilled.file).catch(() => {});
    this.spilled = null;
    if (this.uploadId === null) return;
    await this.client
      .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId }))
      .catch(() => {});
  }

  /** The first buffer, unless the upload holds one: waits for the pool (holding no slab), then reads back a spill. */
  private async takeBuffer(signal: AbortSignal): Promise<void> {
    if (this.held.size > 0) return;
    const slab = await this.pool.acquire(signal);
    this.held.add(slab);
    this.filling = slab;
    this.filled = 0;
    if (!this.spilled) return;
    const { file, bytes } = this.spilled;
    const handle = await open(file, 'r');
    try {
      const { bytesRead } = await handle.read(this.pool.bytesOf(slab), 0, bytes, 0);
      if (bytesRead !== bytes) throw new Error(`the spill file ${file} holds ${bytesRead} bytes, not ${bytes}`);
    } finally {
      await handle.close();
    }
    await unlink(file);
    this.filled = bytes;
    this.spilled = null;
  }

  private watchForStall(): void {
    if (this.spillDirectory === null || this.isFinishing) return;
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => {
      this.isSpillQueued = true;
      this.queue = this.queue
        .then(() => this.spillIfStalled())
        .catch(() => {})
        .finally(() => (this.isSpillQueued = false));
    }, STALL_MS);
    this.stallTimer.unref();
  }

  /** Gives the buffers back when the client is quiet and another upload waits; else looks again later. */
  private async spillIfStalled(): Promise<void> {
    if (this.isFinishing || this.held.size === 0) return;
    if (this.isAwaitingSlab || this.isSending || !this.pool.hasWaiters || this.sendError) return this.watchForStall();
    if (this.filled > 0) {
      const file = path.join(this.spillDirectory!, `${SPILL_PREFIX}${process.pid}-${randomBytes(8).toString('hex')}`);
      const handle = await open(file, 'wx', 0o600);
      try {
        await handle.write(this.pool.bytesOf(this.filling), 0, this.filled, 0);
      } finally {
        await handle.close();
      }
      this.spilled = { file, bytes: this.filled };
    }
    this.releaseAll();
  }

  private async take(bytes: Buffer): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      if (this.sendError) throw this.sendError;
      if (this.filling === -1) this.filling = await this.nextBuffer();
      const copied = bytes.copy(this.pool.bytesOf(this.filling), this.filled, offset);
      this.filled += copied;
      offset += copied;
      this.size += copied;
      if (this.filled === this.pool.partBytes) await this.sendPart();
    }
  }

  /** A buffer to fill: a spare, else a free one of the pool's, else the one being sent, once sent. */
  private async nextBuffer(): Promise<number> {
    if (this.held.size === 0) throw new Error('no part buffer reserved');
    if (this.spare === -1) {
      const free = this.pool.tryAcquire();
      if (free !== undefined) {
        this.held.add(free);
        return free;
      }
      await this.sending;
      if (this.sendError) throw this.sendError;
    }
    const spare = this.spare;
    this.spare = -1;
    return spare;
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
    const part = this.filling;
    const length = this.filled;
    const partNumber = this.parts.length + 1;
    this.parts.push({ PartNumber: partNumber });
    this.filling = -1;
    this.filled = 0;
    this.isSending = true;
    this.sending = this.client
      .send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: this.uploadId,
          PartNumber: partNumber,
          Body: this.pool.bytesOf(part).subarray(0, length),
          ContentLength: length,
        }),
      )
      .then(
        (sent) => {
          this.parts[partNumber - 1].ETag = sent.ETag;
          this.sent(part);
        },
        (error: unknown) => {
          this.sendError ??= error;
          this.sent(part);
        },
      );
  }

  /** A sent part's buffer: kept for the next part, unless another buffer is filling and someone waits for one. */
  private sent(part: number): void {
    this.isSending = false;
    if (!this.held.has(part)) return;
    if (this.filling !== -1 && this.pool.hasWaiters) {
      this.held.delete(part);
      this.pool.release(part);
    } else {
      this.spare = part;
    }
  }

  private releaseAll(): void {
    for (const slab of this.held) this.pool.release(slab);
    this.held.clear();
    this.filling = -1;
    this.spare = -1;
    this.filled = 0;
  }
}
