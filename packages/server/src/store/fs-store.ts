import { randomBytes } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { access, mkdir, open, opendir, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { IO_CHUNK_BYTES } from '@cloudstore/shared';
import type { BlobStore, ByteRange, RehashOptions, StagedBlob, WriteOptions } from './blob-store.js';
import { rehashStored } from './rehash.js';
import { writeThroughSlabs } from './slab-writer.js';
import { createUploadBuffers, type UploadBuffers } from './upload-buffers.js';
import { writeFlushed } from './write-flushed.js';

const TEMPORARY_SUFFIX = '.part';

/** Temporary files that this process is writing or holds staged: never a crash's leftovers. */
const liveTemporaries = new Set<string>();

/**
 * Blobs on the local disk under `root`: `blobs/ab/cd/<sha256>`, fanned out by digest prefix.
 * A write goes to `tmp/<pid>-<random>.part` while hashing, is fsynced, then renamed into place.
 */
export class FsBlobStore implements BlobStore {
  private readonly blobDir: string;
  private readonly temporaryDir: string;

  private uploadBuffers: UploadBuffers | null = null;

  constructor(private readonly root: string) {
    this.blobDir = path.join(root, 'blobs');
    this.temporaryDir = path.join(root, 'tmp');
  }

  async init(): Promise<void> {
    await mkdir(this.blobDir, { recursive: true, mode: 0o700 });
    await mkdir(this.temporaryDir, { recursive: true, mode: 0o700 });
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
      written = await writeThroughSlabs(source, handle, this.uploadBuffers.slabs, this.uploadBuffers.hashing, maxBytes);
      await handle.sync();
      await handle.close();
    } catch (error) {
      await handle.close().catch(() => {});
      await rm(temporary, { force: true });
      liveTemporaries.delete(temporary);
      throw error;
    }
    const { sha256, size } = written;
    const target = this.pathOf(sha256);
    return {
      sha256,
      size,
      publish: async () => {
        const created = await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
        try {
          await rename(temporary, target);
        } catch (error) {
          // Published already by an earlier attempt of the same upload.
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !(await this.stat(sha256))) throw error;
        }
        liveTemporaries.delete(temporary);
        for (const directory of changedDirectories(created, path.dirname(target))) await syncDirectory(directory);
      },
      discard: async () => {
        await rm(temporary, { force: true });
        liveTemporaries.delete(temporary);
      },
    };
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
    const handle = await open(this.pathOf(sha256), 'r');
    try {
      const length = range.end - range.start + 1;
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
