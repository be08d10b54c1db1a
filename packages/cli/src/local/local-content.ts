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
 * Reads of a file being hashed. Each read is a round trip through libuv's thread pool: with 1 MiB
 * reads, a 1 GiB file took 0.83 s to hash against 0.70 s with 8 MiB (medians of three on our
 * machine, openssl dgst 0.76 s); the two buffers cost 16 MiB while a file is hashed.
 */
const HASH_READ_BYTES = 8 * 1024 * 1024;

/**
 * Reads the file once for its SHA-256 and size, in HASH_READ_BYTES reads into two buffers used
 * in turn: the next read runs while the current buffer is hashed, and no buffer is allocated per
 * read. On the main thread: hashing on a thread of its own, with the HTTP library loaded on the
 * main thread meanwhile, was slower (0.91–1.04 s against 0.90–0.92 s for a 1 GiB duplicate
 * `put`, and 20 MiB more memory): both cores are busy already, hashing and copying the reads.
 */
export async function hashFile(path: string, progress: Progress): Promise<LocalContent> {
  const { mtimeMs } = await stat(path);
  const hash = createHash('sha256');
  const buffers = [Buffer.allocUnsafeSlow(HASH_READ_BYTES), Buffer.allocUnsafeSlow(HASH_READ_BYTES)];
  const file = await open(path, 'r');
  let size = 0;
  try {
    let reading = file.read(buffers[0], 0, HASH_READ_BYTES, 0);
    for (let turn = 1; ; turn += 1) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) break;
      size += bytesRead;
      reading = file.read(buffers[turn % 2], 0, HASH_READ_BYTES, size);
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
