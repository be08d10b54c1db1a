/**
 * What a download and its hashing thread (hash-thread.ts, hash-worker.ts) share: how far the part
 * file is written and how far it is hashed, and the words they wait on.
 */
export const WORD = {
  /** Bumped by the writer at each event: the thread sleeps on it. */
  signal: 0,
  /** 1 once the writer has written its last byte. */
  ended: 1,
  length: 2,
} as const;

/** Bytes from the part's start; 64-bit, since parts outgrow 2 GiB. */
export const POSITION = {
  written: 0,
  hashed: 1,
  length: 2,
} as const;

export const createProgress = () => new SharedArrayBuffer(WORD.length * 4 + POSITION.length * 8);

export function progressViews(shared: SharedArrayBuffer) {
  return {
    control: new Int32Array(shared, 0, WORD.length),
    positions: new BigInt64Array(shared, WORD.length * 4, POSITION.length),
  };
}
