/** The layout of the ring of hash-thread.ts, shared with its thread (hash-worker.ts). */
export const CONTROL = {
  /** Slots filled by the writer so far (it counts on; slot = count % slots). */
  written: 0,
  /** Slots hashed by the thread so far. */
  hashed: 1,
  /** 1 once the writer has filled its last slot. */
  ended: 2,
  /** Bumped by the writer at each event: the thread sleeps on it. */
  signal: 3,
  length: 4,
} as const;

export interface RingData {
  shared: SharedArrayBuffer;
  slots: number;
  slotBytes: number;
}
