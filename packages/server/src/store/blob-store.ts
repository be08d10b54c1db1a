import type { Readable, Writable } from 'node:stream';

/** Bytes written to a temporary place and hashed, not yet visible under their digest. */
export interface StagedBlob {
  readonly sha256: string;
  readonly size: number;
  /** Moves the bytes under their digest (idempotent; identical content may already be there). */
  publish(): Promise<void>;
  /** Removes the temporary bytes, if they are still there. */
  discard(): Promise<void>;
}

export interface WriteOptions {
  /** Refuse (PAYLOAD_TOO_LARGE) once more than this many bytes arrive. */
  maxBytes: number;
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
  /** The blob's size, or null when it is not stored. */
  stat(sha256: string): Promise<{ size: number } | null>;
  delete(sha256: string): Promise<void>;
  /** Releases what the store holds (threads, connections). */
  close(): Promise<void>;
  /** Every digest stored (published), in no particular order. */
  list(): AsyncIterable<string>;
  /** Removes temporary files that a crashed process left behind; returns how many. */
  sweepTemporary(): Promise<number>;
}
