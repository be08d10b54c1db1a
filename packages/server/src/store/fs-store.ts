import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { IO_CHUNK_BYTES } from '@cloudstore/shared';
import { AppError } from '../errors.js';
import type { BlobStore, ByteRange, StagedBlob, WriteOptions } from './blob-store.js';

const TEMPORARY_SUFFIX = '.part';

/**
 * Blobs on the local disk under `root`: `blobs/ab/cd/<sha256>`, fanned out by digest prefix.
 * A write goes to `tmp/<pid>-<random>.part` while hashing, is fsynced, then renamed into place.
 */
export class FsBlobStore implements BlobStore {
  private readonly blobDir: string;
  private readonly temporaryDir: string;

  constructor(root: string) {
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
    const hash = createHash('sha256');
    let size = 0;
    try {
      // Coalesce the socket's small chunks into 1 MiB writes.
      let buffer = Buffer.allocUnsafe(IO_CHUNK_BYTES);
      let filled = 0;
      for await (const chunk of source as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxBytes) throw new AppError('PAYLOAD_TOO_LARGE', `the file is larger than the limit of ${maxBytes} bytes`);
        hash.update(chunk);
        let offset = 0;
        while (offset < chunk.length) {
          const copied = chunk.copy(buffer, filled, offset);
          filled += copied;
          offset += copied;
          if (filled === buffer.length) {
            await handle.write(buffer, 0, filled);
            buffer = Buffer.allocUnsafe(IO_CHUNK_BYTES);
            filled = 0;
          }
        }
      }
      if (filled > 0) await handle.write(buffer, 0, filled);
      await handle.sync();
      await handle.close();
    } catch (error) {
      await handle.close().catch(() => {});
      await rm(temporary, { force: true });
      throw error;
    }
    const sha256 = hash.digest('hex');
    const target = this.pathOf(sha256);
    return {
      sha256,
      size,
      publish: async () => {
        await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
        try {
          await rename(temporary, target);
        } catch (error) {
          // Published already by an earlier attempt of the same upload.
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !(await this.stat(sha256))) throw error;
        }
        await syncDirectory(path.dirname(target));
      },
      discard: () => rm(temporary, { force: true }),
    };
  }

  read(sha256: string, range?: ByteRange): Readable {
    return createReadStream(this.pathOf(sha256), { highWaterMark: IO_CHUNK_BYTES, start: range?.start, end: range?.end });
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

  async sweepTemporary(): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.temporaryDir)) {
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

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
