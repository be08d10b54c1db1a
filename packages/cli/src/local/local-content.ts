import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IO_CHUNK_BYTES } from '@cloudstore/shared/limits';
import type { Progress } from '../terminal/progress.js';
import { watchChunks } from './watch-chunks.js';

/** A local file about to be uploaded, as the one reading that hashed it saw it. */
export interface LocalContent {
  path: string;
  size: number;
  sha256: Buffer;
  /** The file's modification time when it was hashed; none for a spooled copy of standard input. */
  modifiedMs?: number;
}

/**
 * Reads the file once for its SHA-256 and size, in 1 MiB reads into two buffers used in turn:
 * the next read runs while the current buffer is hashed, and no buffer is allocated per read.
 */
export async function hashFile(path: string, progress: Progress): Promise<LocalContent> {
  const { mtimeMs } = await stat(path);
  const hash = createHash('sha256');
  const buffers = [Buffer.allocUnsafeSlow(IO_CHUNK_BYTES), Buffer.allocUnsafeSlow(IO_CHUNK_BYTES)];
  const file = await open(path, 'r');
  let size = 0;
  try {
    let reading = file.read(buffers[0], 0, IO_CHUNK_BYTES, 0);
    for (let turn = 1; ; turn += 1) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) break;
      size += bytesRead;
      reading = file.read(buffers[turn % 2], 0, IO_CHUNK_BYTES, size);
      hash.update(buffer.subarray(0, bytesRead));
      progress.advance(bytesRead);
    }
  } finally {
    await file.close();
  }
  return { path, size, sha256: hash.digest(), modifiedMs: mtimeMs };
}

/**
 * Copies a stream that can be read only once (standard input, a pipe) into `spool` while
 * hashing it, so that the proof of possession and the upload can read it again.
 */
export async function spoolAndHash(input: Readable, spool: string, progress: Progress): Promise<LocalContent> {
  const hash = createHash('sha256');
  let size = 0;
  const watcher = watchChunks((chunk) => {
    hash.update(chunk);
    size += chunk.length;
    progress.advance(chunk.length);
  });
  await pipeline(input, watcher, createWriteStream(spool, { flags: 'wx', mode: 0o600, highWaterMark: IO_CHUNK_BYTES }));
  return { path: spool, size, sha256: hash.digest() };
}
