import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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

/**
 * Streams into a temporary file beside `target` while hashing, and renames it into place only
 * when the digest matches, so that `target` is either the whole right file or untouched.
 * The temporary file is listed in `temporaryFiles` while it exists, for Ctrl-C to remove it.
 */
export async function saveVerified(
  write: VerifiedWrite,
  target: string,
  options: { overwrite: boolean; temporaryFiles: Set<string> },
): Promise<void> {
  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.cloudstore-part`);
  options.temporaryFiles.add(temporary);
  try {
    const sha256 = await copyHashing(write, createWriteStream(temporary, { flags: 'wx', highWaterMark: IO_CHUNK_BYTES }));
    if (!sha256.equals(write.sha256)) throw mismatch('nothing was saved');
    // Checked again at the end: the file may have appeared while the download ran.
    if (!options.overwrite && (await pathExists(target))) throw targetExists(target);
    await rename(temporary, target);
  } finally {
    await rm(temporary, { force: true });
    options.temporaryFiles.delete(temporary);
  }
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
