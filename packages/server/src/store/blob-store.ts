import type { Knex } from 'knex';
import type { Readable, Writable } from 'node:stream';

/**
 * The caller's open transaction, given to the calls it makes inside one. A store that maps
 * digests to objects in the database (s3-store.ts) reads and writes that map through it, so
 * the map commits or rolls back with the caller's rows, and SQLite's one connection is not
 * asked for twice. The file store names its files by digest and ignores it.
 */
export type Within = Knex | undefined;

/** Bytes written to a temporary place and hashed, not yet visible under their digest. */
export interface StagedBlob {
  readonly sha256: string;
  readonly size: number;
  /** Makes the bytes readable under their digest (idempotent; identical content may already be there). */
  publish(within?: Within): Promise<void>;
  /** Removes the bytes unless they were published, if they are still there. */
  discard(): Promise<void>;
}

export interface WriteOptions {
  /** Refuse (PAYLOAD_TOO_LARGE) once more than this many bytes arrive. */
  maxBytes: number;
}

export interface RehashOptions {
  /** Resolves when `bytes` more may be read (the scrub's rate); rejects to stop the re-hash. */
  pace?: (bytes: number) => Promise<void>;
}

/** An inclusive byte range, as HTTP ranges are. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where content lives, addressed by its SHA-256 (hex, lower case). Every implementation
 * passes test/store/blob-store.contract.ts.
 */
export interface BlobStore {
  /** Streams `source` to temporary storage while hashing it; fsyncs before resolving. */
  write(source: Readable, options: WriteOptions): Promise<StagedBlob>;
  /** The whole blob, or one inclusive byte range of it. */
  read(sha256: string, range?: ByteRange): Readable;
  /**
   * Writes one range of the blob to `destination` (a socket), waiting for each write to be
   * flushed so that buffers can be reused; rejects if the destination closes first.
   */
  copyTo(sha256: string, range: ByteRange, destination: Writable): Promise<void>;
  /**
   * Reads the stored bytes of `sha256` back and hashes them (on the upload hashing threads):
   * what they hash to now, or null when nothing is stored under that digest.
   */
  rehash(sha256: string, options?: RehashOptions): Promise<{ sha256: string; size: number } | null>;
  /** The blob's size, or null when it is not stored. */
  stat(sha256: string, within?: Within): Promise<{ size: number } | null>;
  delete(sha256: string, within?: Within): Promise<void>;
  /** Whether the store answers now (for /health). */
  isAvailable(): Promise<boolean>;
  /** Releases what the store holds (threads, connections). */
  close(): Promise<void>;
  /** Every digest stored (published), in no particular order. */
  list(): AsyncIterable<string>;
  /**
   * Removes what crashed or abandoned writes left behind (never what a write in progress is
   * writing); returns how many.
   */
  sweepTemporary(): Promise<number>;
}
