import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, open, rename, rm, truncate } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { IO_CHUNK_BYTES } from '@cloudstore/shared/limits';
import { CliError, EXIT } from '../errors.js';
import type { Progress } from '../terminal/progress.js';
import { watchChunks } from './watch-chunks.js';

export interface VerifiedWrite {
  source: Readable;
  /** The SHA-256 the bytes must have (the server's Repr-Digest). */
  sha256: Buffer;
  progress: Progress;
}

const mismatch = (what: string) =>
  new CliError('DIGEST_MISMATCH', `the downloaded bytes do not match the server's SHA-256: ${what}`, EXIT.integrity);

export const targetExists = (target: string) =>
  new CliError('TARGET_EXISTS', `${target} already exists: add --force to overwrite it`, EXIT.conflict);

export async function pathExists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Where `get` collects a download until its digest is checked (CLI.md, "Resumable"). */
export const partPathOf = (target: string) => `${target}.cloudstore-part`;

/**
 * Appends `source` to the part file from `offset` on (the part is cut there first; offset 0
 * starts it over) and returns the SHA-256 of the part's first `offset` bytes followed by
 * them. The existing prefix is hashed again from the disk rather than from a saved hash
 * state: Node cannot save one, and reading a local prefix back costs far less than fetching
 * it. When this settles, the part file holds exactly the bytes hashed.
 */
export async function appendHashing(write: VerifiedWrite, part: string, offset: number): Promise<Buffer> {
  const hash = createHash('sha256');
  if (offset > 0) {
    await truncate(part, offset);
    await hashPrefix(part, offset, hash);
  }
  const sink = createWriteStream(part, { flags: offset > 0 ? 'r+' : 'w', start: offset, highWaterMark: IO_CHUNK_BYTES });
  const watcher = watchChunks((chunk) => {
    hash.update(chunk);
    write.progress.advance(chunk.length);
  });
  // Not `pipeline`: on a broken connection it would destroy the file stream, which drops the
  // bytes it holds. Ending it instead writes every byte received (and hashed), so that the
  // next try resumes after the last byte received rather than the last byte flushed.
  let sourceFailure: unknown;
  write.source.once('error', (error) => {
    sourceFailure = error;
    write.source.unpipe(watcher);
    watcher.end();
  });
  write.source.pipe(watcher).pipe(sink);
  try {
    await finished(sink);
  } catch (error) {
    write.source.destroy();
    throw error;
  }
  if (sourceFailure !== undefined) throw sourceFailure;
  return hash.digest();
}

async function hashPrefix(path: string, bytes: number, hash: Hash): Promise<void> {
  const buffer = Buffer.allocUnsafeSlow(IO_CHUNK_BYTES);
  const file = await open(path, 'r');
  try {
    for (let position = 0; position < bytes;) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(IO_CHUNK_BYTES, bytes - position), position);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
  } finally {
    await file.close();
  }
}

/**
 * Renames the finished part into place only when its digest matches, so that `target` is
 * either the whole right file or untouched; a part that does not match is removed (it cannot
 * be resumed into anything right).
 */
export async function promoteVerified(
  part: string,
  target: string,
  digests: { actual: Buffer; expected: Buffer },
  options: { overwrite: boolean },
): Promise<void> {
  if (!digests.actual.equals(digests.expected)) {
    await rm(part, { force: true });
    throw mismatch('nothing was saved');
  }
  // Checked again at the end: the file may have appeared while the download ran.
  if (!options.overwrite && (await pathExists(target))) throw targetExists(target);
  await rename(part, target);
}

/** Streams to `sink` (standard output) while hashing; bytes already written cannot be taken back, but the exit code says so. */
export async function writeVerified(write: VerifiedWrite, sink: Writable): Promise<void> {
  const sha256 = await copyHashing(write, sink, { end: false });
  if (!sha256.equals(write.sha256)) throw mismatch('what was written to standard output is corrupt');
}

async function copyHashing(write: VerifiedWrite, sink: Writable, options: { end?: boolean } = {}): Promise<Buffer> {
  const hash = createHash('sha256');
  const watcher = watchChunks((chunk) => {
    hash.update(chunk);
    write.progress.advance(chunk.length);
  });
  await pipeline(write.source, watcher, sink, options);
  return hash.digest();
}
