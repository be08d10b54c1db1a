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
 * Parts of one upload sent at once, as the AWS SDK's own multipart upload (lib-storage's
 * queueSize) does: one part at a time leaves the store's and the network's time unhidden.
 */
export const PARTS_IN_FLIGHT = 4;
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
 * part buffer; each full part is sent (UploadPart) while the next ones fill, up to
 * PARTS_IN_FLIGHT parts being sent at once. A body smaller than one part is sent whole with
 * PutObject. Every byte goes to the store once: nothing is copied or renamed afterwards.
 *
 * Part buffers come from one fixed pool shared by every upload of the store (`parts`, slabs of a
 * whole part), never allocated per upload. An upload reserves a whole part buffer before it takes
 * its first slab (`reserve`, which the slab writer awaits holding no slab: its socket is paused
 * meanwhile), and from then on never waits for the pool again: when its part is full it takes
 * another buffer only if one is free and nobody waits for it (up to PARTS_IN_FLIGHT + 1 in all:
 * that many parts being sent, one filling), and otherwise waits for one of its own parts to be
 * sent and fills that buffer again. So whoever holds a part buffer can always finish its part, and whoever waits
 * holds nothing that others need: no deadlock, whatever the number of uploads. A sent part's
 * buffer goes back to the pool as soon as another upload waits, unless it is the upload's last.
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
  /** Pool slabs this upload holds: the one filling, those being sent, and spares. */
  private readonly held = new Set<number>();
  private filling = -1;
  private filled = 0;
  /** Held buffers that nothing uses right now (their parts were sent). */
  private readonly spares: number[] = [];
  private size = 0;
  /** The parts being sent, each settling (never rejecting) once its answer came. */
  private readonly sending = new Set<Promise<void>>();
  private sendError: unknown = null;
  /** Slabs are taken in the order they were handed over, one at a time (and spills between them). */
  private queue: Promise<void> = Promise.resolve();
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
      await this.allSent();
      if (this.sendError) throw this.sendError;
    } finally {
      // A part that failed leaves the others in flight: their buffers go back once they are sent.
      await this.allSent();
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
    await this.allSent();
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
    if (this.isAwaitingSlab || this.sending.size > 0 || !this.pool.hasWaiters || this.sendError) return this.watchForStall();
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

  /**
   * A buffer to fill: a spare, else a free one of the pool's (up to PARTS_IN_FLIGHT being sent
   * and one filling), else the first of its own parts' buffers to come back.
   */
  private async nextBuffer(): Promise<number> {
    if (this.held.size === 0) throw new Error('no part buffer reserved');
    while (this.spares.length === 0) {
      if (this.held.size <= PARTS_IN_FLIGHT) {
        const free = this.pool.tryAcquire();
        if (free !== undefined) {
          this.held.add(free);
          return free;
        }
      }
      // Every held buffer is being sent (none is filling): one comes back as a spare.
      await Promise.race(this.sending);
      if (this.sendError) throw this.sendError;
    }
    return this.spares.pop()!;
  }

  /** Every part sent so far has its answer. */
  private async allSent(): Promise<void> {
    while (this.sending.size > 0) await Promise.all(this.sending);
  }

  /**
   * Starts sending the filled part, once fewer than PARTS_IN_FLIGHT are being sent (making the
   * multipart upload first, at the first part).
   */
  private async sendPart(): Promise<void> {
    while (this.sending.size >= PARTS_IN_FLIGHT) await Promise.race(this.sending);
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
    const sending: Promise<void> = this.client
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
        },
        (error: unknown) => {
          this.sendError ??= error;
        },
      )
      .finally(() => {
        this.sending.delete(sending);
        this.sent(part);
      });
    this.sending.add(sending);
  }

  /**
   * A sent part's buffer: kept as a spare, unless someone waits for one and this upload holds
   * another buffer (filling, a spare, or a part being sent, which comes back).
   */
  private sent(part: number): void {
    if (!this.held.has(part)) return;
    if (this.pool.hasWaiters && this.held.size > 1) {
      this.held.delete(part);
      this.pool.release(part);
    } else {
      this.spares.push(part);
    }
  }

  private releaseAll(): void {
    for (const slab of this.held) this.pool.release(slab);
    this.held.clear();
    this.filling = -1;
    this.spares.length = 0;
    this.filled = 0;
  }
}
