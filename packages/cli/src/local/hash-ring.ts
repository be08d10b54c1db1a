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

/** Where the slots' bytes start: after the control words and one length per slot. */
const dataOffset = (slots: number) => (CONTROL.length + slots) * 4;

/** A ring of `slots` slots of `slotBytes`, in memory both threads share. */
export function createRing(slots: number, slotBytes: number): RingData {
  return { shared: new SharedArrayBuffer(dataOffset(slots) + slots * slotBytes), slots, slotBytes };
}

/** The ring's control words, each slot's length, and the slots' bytes (slot i at i × slotBytes). */
export function ringViews({ shared, slots }: RingData) {
  return {
    control: new Int32Array(shared, 0, CONTROL.length),
    lengths: new Int32Array(shared, CONTROL.length * 4, slots),
    data: Buffer.from(shared, dataOffset(slots)),
  };
}
