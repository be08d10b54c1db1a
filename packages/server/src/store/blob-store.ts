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
 * The durable bytes of a resumable upload: how many (`offset`), and the store's own record of
 * where they are (`state`, JSON that the caller keeps in the database so that any instance can
 * take the next append). `key` names the bytes in the store for the whole upload.
 */
export interface ResumableBytes {
  key: string;
  state: string;
  offset: number;
}

export interface AppendOptions {
  /** The upload's whole length: bytes beyond it are PAYLOAD_TOO_LARGE; reaching it completes the bytes. */
  length: number;
  /**
   * Each chunk the store takes, in order, before it is written: the caller hashes it. When it
   * returns a promise, the store takes no further chunk until it resolves (the caller's pace).
   */
  onBytes(chunk: Buffer): void | Promise<void>;
  /**
   * Given, it replaces `onBytes` for a store whose buffers are shared memory (the file store's
   * slabs): each buffer's bytes, in order, once it is full, as a view of that memory; the caller
   * hashes them where they lie, on another thread, without a copy on this one, and resolves once
   * done. The store changes nothing in the view until then. A rejection ends the append.
   */
  onSharedBytes?(view: Uint8Array): Promise<void>;
  /**
   * Every byte handed over so far is durable, as `durable` records: the caller saves it.
   * Called during a long append, at its end, and after a failed source (what arrived is kept);
   * the store takes no further chunk until it resolves. A rejection ends the append.
   */
  checkpoint(durable: ResumableBytes): Promise<void>;
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

  /** A new resumable upload, with nothing stored yet (and nothing to clean up if it is never used). */
  createResumable(): Promise<ResumableBytes>;
  /**
   * Appends `source` at `from.offset`, first dropping whatever lies past it (a crash's
   * unrecorded tail). Every byte taken is durable at the next `checkpoint`, a failed source's
   * included; resolves with the last durable point. Memory per append is bounded, whatever its size.
   */
  appendResumable(from: ResumableBytes, source: Readable, options: AppendOptions): Promise<ResumableBytes>;
  /**
   * The first `bytes.offset` bytes of an unfinished upload, for a store that can read them back
   * (S3 cannot: the parts of a multipart upload are unreadable until it completes). With it, a
   * resumable upload is hashed with node:crypto, whose state cannot be saved, and an instance
   * that did not hash its earlier bytes reads them again; without it, with a saveable SHA-256.
   */
  readResumable?(bytes: ResumableBytes): Readable;
  /**
   * The complete upload (offset = length, after its last append) as a staged blob of digest
   * `sha256`: published by renaming or recording, never by copying or re-reading its bytes.
   */
  completeResumable(bytes: ResumableBytes, sha256: string): Promise<StagedBlob>;
  /** Removes every byte an upload stored (idempotent). */
  discardResumable(bytes: ResumableBytes): Promise<void>;
}
