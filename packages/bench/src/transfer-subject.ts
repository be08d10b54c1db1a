import type { Transfer } from './curl.js';
import type { TestFile } from './test-files.js';

/**
 * Something that stores and serves files over HTTP: our server on one route, a baseline or a
 * peer. The upload and download cases time every subject alike, through curl.
 */
export interface TransferSubject {
  /** Row label: `cloudstore raw (SQLite)`, `node-1m`, `tus (@tus/server 2.4.5)`… */
  label: string;
  role: 'ours' | 'baseline' | 'peer';
  /** The server process, for its CPU time; null when it is not one process we know. */
  pid: number | null;
  /** What it does and skips (hashing, fsync), printed beside its rows. */
  note: string;
  /** Uploads `file` as `name`; throws unless the server stored it (and verified it, where it can). */
  upload(file: TestFile, name: string): Promise<Transfer>;
  /** Downloads `name` to `output` (/dev/null in the download case); absent when the peer cannot. */
  download?(name: string, output: string): Promise<Transfer>;
  /** Untimed: deletes `name`, so that the next upload is a new file again. */
  remove(name: string): Promise<void>;
}

/** A finished transfer must have moved the whole file, whatever the status said. */
export function checkedTransfer(transfer: Transfer, direction: 'up' | 'down', size: number): Transfer {
  const moved = direction === 'up' ? transfer.bytesUp : transfer.bytesDown;
  if (moved !== size) throw new Error(`moved ${moved} bytes ${direction}, expected ${size}`);
  return transfer;
}
