import { createHash } from 'node:crypto';
import { writeSync } from 'node:fs';
import { access, open, rename, rm, truncate, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { InPlaceResponse } from '../api/in-place-get.js';
import { CliError, EXIT } from '../errors.js';
import type { Progress } from '../terminal/progress.js';
import type { Hasher, StartHasher } from './hash-thread.js';

export interface VerifiedWrite {
  /** A download's body, unread. */
  source: Pick<InPlaceResponse, 'drain' | 'abort'>;
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
 * starts it over) and returns the SHA-256 of the whole part, hashed by what `startHasher` starts.
 * Each piece is written as it is read, while it is still in the CPU's cache (in-place-get.ts): a
 * synchronous write of a piece just read costs a fraction of a write handed to another thread.
 * When this settles, even on a broken connection, the part file holds every byte received: the
 * next try resumes after the last one.
 */
export async function appendHashing(write: VerifiedWrite, part: string, offset: number, startHasher: StartHasher): Promise<Buffer> {
  let file: FileHandle | undefined;
  let hasher: Hasher | undefined;
  try {
    if (offset > 0) await truncate(part, offset);
    file = await open(part, offset > 0 ? 'r+' : 'w');
    hasher = await startHasher(part, offset);
    const hashing = hasher;
    let position = offset;
    const fd = file.fd;
    await write.source.drain((piece) => {
      for (let written = 0; written < piece.length;) {
        written += writeSync(fd, piece, written, piece.length - written, position + written);
      }
      position += piece.length;
      write.progress.advance(piece.length);
      return hashing.wrote(piece, position);
    });
    return await hasher.digest();
  } catch (error) {
    // Failed before the body was read: it must not stay open, unread.
    if (!hasher) write.source.abort();
    await hasher?.close();
    throw error;
  } finally {
    await file?.close();
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
  const hash = createHash('sha256');
  await write.source.drain((piece) => {
    hash.update(piece);
    write.progress.advance(piece.length);
    // The piece is the read buffer itself: reading waits until it is written out.
    return new Promise((resolve, reject) => sink.write(piece, (error) => (error ? reject(error) : resolve())));
  });
  if (!hash.digest().equals(write.sha256)) throw mismatch('what was written to standard output is corrupt');
}
