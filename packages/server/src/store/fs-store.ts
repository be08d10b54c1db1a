import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, createReadStream, openSync, readSync } from 'node:fs';
import { access, mkdir, open, opendir, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { IO_CHUNK_BYTES } from '@cloudstore/shared';
import { AppError } from '../errors.js';
import type { AppendOptions, BlobStore, ByteRange, RehashOptions, ResumableBytes, StagedBlob, WriteOptions } from './blob-store.js';
import { directSink } from './direct-writes.js';
import { rehashStored } from './rehash.js';
import { SLAB_BYTES } from './slab-pool.js';
import { SmallBlobCache } from './small-blob-cache.js';
import { FILL_WINDOW_MS, WRITE_BLOCK_BYTES, writeThroughSlabs, type SlabSink } from './slab-writer.js';
import { createUploadBuffers, type UploadBuffers } from './upload-buffers.js';
import { writeFlushed } from './write-flushed.js';

const TEMPORARY_SUFFIX = '.part';
/**
 * A resumable upload's file is fsynced and its progress saved at least this often during a long
 * PATCH (what a crash of the server can lose of it): an fsync stalls the PATCH, so not often.
 */
const RESUMABLE_CHECKPOINT_BYTES = 256 * 1024 * 1024;
const RESUMABLE_KEY = /^[0-9a-f]{32}$/;
/** Slabs of one append being written while the next fills (as many as a plain upload's). */
const RESUMABLE_SLABS_IN_FLIGHT = 8;
/**
 * Ranges up to this size are read with one synchronous open, read and close: three trips through
 * libuv's thread pool cost a small download more than the read itself (a page-cache copy of a few
 * microseconds), and a pool busy with large transfers would make every small download wait. A
 * read from a cold disk blocks the event loop for that read's time, as nginx's reads do.
 */
const SMALL_READ_BYTES = 64 * 1024;
/**
 * Small blobs just served are kept in memory, up to this much (small-blob-cache.ts): a small
 * download read from it skips the open, read and close, a tenth of its time.
 */
const SMALL_BLOB_CACHE_BYTES = 8 * 1024 * 1024;

/** Temporary files that this process is writing or holds staged: never a crash's leftovers. */
const liveTemporaries = new Set<string>();

/**
 * Blobs on the local disk under `root`: `blobs/ab/cd/<sha256>`, fanned out by digest prefix.
 * A write goes to `tmp/<pid>-<random>.part` while hashing (whole slabs with O_DIRECT, see
 * direct-writes.ts), is fsynced, then renamed into place.
 * A resumable upload is one file, `uploads/<key>`, appended to by each PATCH and renamed into
 * place once complete.
 */
export class FsBlobStore implements BlobStore {
  private readonly blobDir: string;
  private readonly temporaryDir: string;
  private readonly resumableDir: string;

  private uploadBuffers: UploadBuffers | null = null;
  private readonly smallBlobs = new SmallBlobCache(SMALL_BLOB_CACHE_BYTES);

  constructor(private readonly root: string) {
    this.blobDir = path.join(root, 'blobs');
    this.temporaryDir = path.join(root, 'tmp');
    this.resumableDir = path.join(root, 'uploads');
  }

  async init(): Promise<void> {
    await mkdir(this.blobDir, { recursive: true, mode: 0o700 });
    await mkdir(this.temporaryDir, { recursive: true, mode: 0o700 });
    await mkdir(this.resumableDir, { recursive: true, mode: 0o700 });
  }

  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error('not a SHA-256 digest');
    return path.join(this.blobDir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async write(source: Readable, { maxBytes }: WriteOptions): Promise<StagedBlob> {
    const temporary = path.join(this.temporaryDir, `${process.pid}-${randomBytes(12).toString('hex')}${TEMPORARY_SUFFIX}`);
    const handle = await open(temporary, 'wx', 0o600);
    liveTemporaries.add(temporary);
    let written: { sha256: string; size: number };
    try {
      this.uploadBuffers ??= createUploadBuffers();
      const { slabs, hashing } = this.uploadBuffers;
      const sink = await directSink(temporary, handle, slabs.isPageAligned);
      try {
        written = await writeThroughSlabs(source, sink, slabs, hashing, maxBytes);
      } finally {
        await sink.close();
      }
      await handle.sync();
      await handle.close();
    } catch (error) {
      await handle.close().catch(() => {});
      await rm(temporary, { force: true });
      liveTemporaries.delete(temporary);
      throw error;
    }
    const { sha256, size } = written;
    return {
      sha256,
      size,
      publish: async () => {
        await this.moveIntoPlace(temporary, sha256);
        liveTemporaries.delete(temporary);
      },
      discard: async () => {
        await rm(temporary, { force: true });
        liveTemporaries.delete(temporary);
      },
    };
  }

  /** Renames fsynced bytes to the blob path of `sha256` (idempotent), and makes the rename durable. */
  private async moveIntoPlace(source: string, sha256: string): Promise<void> {
    const target = this.pathOf(sha256);
    const created = await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    try {
      await rename(source, target);
    } catch (error) {
      // Published already by an earlier attempt of the same upload.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !(await this.stat(sha256))) throw error;
    }
    for (const directory of changedDirectories(created, path.dirname(target))) await syncDirectory(directory);
  }

  async createResumable(): Promise<ResumableBytes> {
    return { key: randomBytes(16).toString('hex'), state: '{}', offset: 0 };
  }

  private resumablePath(key: string): string {
    if (!RESUMABLE_KEY.test(key)) throw new Error('not a resumable upload key');
    return path.join(this.resumableDir, key);
  }

  async appendResumable(from: ResumableBytes, source: Readable, options: AppendOptions): Promise<ResumableBytes> {
    const handle = await open(this.resumablePath(from.key), constants.O_RDWR | constants.O_CREAT, 0o600);
    try {
      const { size } = await handle.stat();
      if (size < from.offset) throw new Error(`resumable upload ${from.key} holds ${size} bytes, not the ${from.offset} recorded`);
      // Bytes written after the last checkpoint by a PATCH that then crashed: nobody hashed them.
      if (size > from.offset) await handle.truncate(from.offset);
      this.uploadBuffers ??= createUploadBuffers();
      const sink = await directSink(this.resumablePath(from.key), handle, this.uploadBuffers.slabs.isPageAligned);
      try {
        const offset = await appendThroughSlab(handle, sink, this.uploadBuffers, from, source, options);
        return { ...from, offset };
      } finally {
        await sink.close();
      }
    } finally {
      await handle.close();
    }
  }

  readResumable(bytes: ResumableBytes): Readable {
    if (bytes.offset === 0) return Readable.from([]);
    return createReadStream(this.resumablePath(bytes.key), { start: 0, end: bytes.offset - 1, highWaterMark: IO_CHUNK_BYTES });
  }

  async completeResumable(bytes: ResumableBytes, sha256: string): Promise<StagedBlob> {
    const file = this.resumablePath(bytes.key);
    return {
      sha256,
      size: bytes.offset,
      publish: () => this.moveIntoPlace(file, sha256),
      discard: () => rm(file, { force: true }),
    };
  }

  async discardResumable(bytes: ResumableBytes): Promise<void> {
    await rm(this.resumablePath(bytes.key), { force: true });
  }

  read(sha256: string, range?: ByteRange): Readable {
    // Buffers no larger than the read: a 4 KiB file must not cost a 1 MiB allocation.
    const length = range ? range.end - range.start + 1 : IO_CHUNK_BYTES;
    return createReadStream(this.pathOf(sha256), {
      highWaterMark: Math.max(1, Math.min(IO_CHUNK_BYTES, length)),
      start: range?.start,
      end: range?.end,
    });
  }

  async copyTo(sha256: string, range: ByteRange, destination: Writable): Promise<void> {
    const length = range.end - range.start + 1;
    if (length <= SMALL_READ_BYTES) return writeFlushed(destination, this.smallRange(sha256, range.start, length));
    const handle = await open(this.pathOf(sha256), 'r');
    try {
      const size = Math.max(1, Math.min(IO_CHUNK_BYTES, length));
      // Two buffers: one is read into while the other is being flushed to the socket.
      const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
      const flushed: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
      let position = range.start;
      for (let turn = 0; position <= range.end; turn ^= 1) {
        await flushed[turn];
        const wanted = Math.min(size, range.end - position + 1);
        const { bytesRead } = await handle.read(buffers[turn], 0, wanted, position);
        if (bytesRead === 0) throw new Error(`blob ${sha256} is shorter than its range`);
        position += bytesRead;
        flushed[turn] = writeFlushed(destination, buffers[turn].subarray(0, bytesRead));
        // Awaited on the next turn or at the end; until then a rejection must not go unhandled.
        flushed[turn].catch(() => {});
      }
      await Promise.all(flushed);
    } finally {
      await handle.close();
    }
  }

  /**
   * A small range, from the cache, or else read; a read of a whole blob is kept once it hashes to
   * its digest (so the cache never holds damaged bytes, nor a range for the whole).
   */
  private smallRange(sha256: string, start: number, length: number): Buffer {
    const cached = this.smallBlobs.get(sha256, start, length);
    if (cached) return cached;
    if (start > 0) return this.readSmall(sha256, start, length, Buffer.allocUnsafe(length));
    // Not from the shared pool: a kept slice of it would hold the whole pool slab.
    const bytes = this.readSmall(sha256, 0, length, Buffer.allocUnsafeSlow(length));
    if (createHash('sha256').update(bytes).digest('hex') === sha256) this.smallBlobs.set(sha256, bytes);
    return bytes;
  }

  private readSmall(sha256: string, start: number, length: number, buffer: Buffer): Buffer {
    const descriptor = openSync(this.pathOf(sha256), 'r');
    try {
      let filled = 0;
      while (filled < length) {
        const bytesRead = readSync(descriptor, buffer, filled, length - filled, start + filled);
        if (bytesRead === 0) throw new Error(`blob ${sha256} is shorter than its range`);
        filled += bytesRead;
      }
      return buffer;
    } finally {
      closeSync(descriptor);
    }
  }

  async rehash(sha256: string, options?: RehashOptions): Promise<{ sha256: string; size: number } | null> {
    this.uploadBuffers ??= createUploadBuffers();
    return rehashStored(this, this.uploadBuffers, sha256, options);
  }

  async stat(sha256: string): Promise<{ size: number } | null> {
    try {
      return { size: (await stat(this.pathOf(sha256))).size };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async delete(sha256: string): Promise<void> {
    this.smallBlobs.delete(sha256);
    try {
      await unlink(this.pathOf(sha256));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  async isAvailable(): Promise<boolean> {
    return access(this.root, constants.W_OK).then(
      () => true,
      () => false,
    );
  }

  async close(): Promise<void> {
    await this.uploadBuffers?.hashing.close();
    this.uploadBuffers = null;
  }

  async *list(): AsyncIterable<string> {
    // Walked one directory at a time: a million blobs are never one array.
    for await (const first of await opendir(this.blobDir)) {
      if (!first.isDirectory()) continue;
      for await (const second of await opendir(path.join(this.blobDir, first.name))) {
        if (!second.isDirectory()) continue;
        for await (const blob of await opendir(path.join(this.blobDir, first.name, second.name))) {
          if (blob.isFile() && /^[0-9a-f]{64}$/.test(blob.name)) yield blob.name;
        }
      }
    }
  }

  async sweepTemporary(): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.temporaryDir)) {
      if (liveTemporaries.has(path.join(this.temporaryDir, name))) continue;
      const pid = Number(name.split('-')[0]);
      if (name.endsWith(TEMPORARY_SUFFIX) && pid !== process.pid && isAlive(pid)) continue;
      await rm(path.join(this.temporaryDir, name), { force: true });
      removed++;
    }
    return removed;
  }
}

/** Another server process sharing this data directory may still be writing its temporary files. */
function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The directories whose entries a publish changed, parents first: the parent of each fan-out
 * directory it created (`created` is the topmost), then the one the blob was renamed into.
 */
function changedDirectories(created: string | undefined, targetDirectory: string): string[] {
  const directories = [targetDirectory];
  if (created === undefined) return directories;
  for (let directory = path.dirname(targetDirectory); ; directory = path.dirname(directory)) {
    directories.unshift(directory);
    if (directory === path.dirname(created)) return directories;
  }
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Appends `source` to `handle` at `from.offset` through slabs of the shared pool (taken when
 * bytes arrive, given back once written, or after FILL_WINDOW_MS of quiet, so that a stalled
 * client holds none), written through `sink`: with O_DIRECT where a slab starts on a block
 * boundary, as a plain upload's (direct-writes.ts), so a slab that starts off one is filled only
 * up to the next boundary. Each slab is hashed where it lies (`onSharedBytes`) while it is
 * written, and goes back to the pool once both are done; without `onSharedBytes`, each byte is
 * handed to `onBytes` as it enters a slab. The file is fsynced through `handle` and the point
 * checkpointed every RESUMABLE_CHECKPOINT_BYTES, at the end, and after a failed source.
 * Returns the durable offset.
 */
async function appendThroughSlab(
  handle: FileHandle,
  sink: SlabSink,
  { slabs }: UploadBuffers,
  from: ResumableBytes,
  source: Readable,
  { length, onBytes, onSharedBytes, checkpoint }: AppendOptions,
): Promise<number> {
  let slab = -1;
  let filled = 0;
  /** What the slab being filled takes: up to the next block boundary, then whole slabs. */
  let capacity = SLAB_BYTES;
  let sent = from.offset;
  let durable = from.offset;
  /** The writes (and hashes) of detached slabs not yet done, oldest first; several at once, as a plain upload's. */
  const inFlight: Promise<void>[] = [];
  /** The first write or hash of a slab that failed. */
  let writeError: unknown = null;
  let fillTimer: NodeJS.Timeout | undefined;
  // Bytes in hand are kept even when their client is gone (unlike a plain write's): the wait for
  // a slab is not cut short, and slabs come back within FILL_WINDOW_MS of any upload's pause.
  const waiting = new AbortController().signal;

  /** Sends the slab being filled to the file (and to the hash); it goes back to the pool once both are done. */
  const detach = () => {
    clearTimeout(fillTimer);
    if (slab === -1) return;
    const [detached, bytes, position] = [slab, filled, sent];
    slab = -1;
    filled = 0;
    sent += bytes;
    const offset = slabs.offsetOf(detached);
    const uses = [sink.write(slabs.buffer, offset, bytes, position)];
    if (onSharedBytes) uses.push(onSharedBytes(new Uint8Array(slabs.memory, offset, bytes)));
    // Settled, not all: the slab is in use until both are done, even once one has failed.
    const written: Promise<void> = Promise.allSettled(uses).then((results) => {
      for (const result of results) if (result.status === 'rejected') writeError ??= result.reason;
      slabs.release(detached);
      inFlight.splice(inFlight.indexOf(written), 1);
    });
    inFlight.push(written);
  };
  const sync = async () => {
    detach();
    await Promise.all(inFlight);
    if (writeError) throw writeError;
    if (sent === durable) return;
    await handle.sync();
    durable = sent;
    await checkpoint({ ...from, offset: durable });
  };

  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (sent + filled + chunk.length > length) {
        throw new AppError('PAYLOAD_TOO_LARGE', `the body runs past the upload's length of ${length} bytes`);
      }
      for (let offset = 0; offset < chunk.length;) {
        if (slab === -1) {
          // Slabs fill while earlier ones are written, a few at most (as for a plain write).
          while (inFlight.length >= RESUMABLE_SLABS_IN_FLIGHT) await inFlight[0];
          if (writeError) throw writeError;
          slab = await slabs.acquire(waiting);
          capacity = SLAB_BYTES - (sent % WRITE_BLOCK_BYTES);
          fillTimer = setTimeout(detach, FILL_WINDOW_MS);
        }
        const take = Math.min(chunk.length - offset, capacity - filled);
        const piece = chunk.subarray(offset, offset + take);
        const paced = onSharedBytes ? undefined : onBytes(piece);
        slabs.copyIn(slab, filled, piece);
        filled += take;
        offset += take;
        if (filled === capacity) detach();
        if (paced) await paced;
      }
      if (sent - durable >= RESUMABLE_CHECKPOINT_BYTES) await sync();
    }
    await sync();
    return durable;
  } catch (error) {
    // Every byte that arrived (and was hashed) is kept: the client resumes after it.
    await sync().catch(() => {});
    throw error;
  } finally {
    clearTimeout(fillTimer);
    if (slab !== -1) slabs.release(slab);
  }
}
