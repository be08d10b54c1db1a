import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { CONTROL, ringViews, type RingData } from './hash-ring.js';

/**
 * The hashing thread of hash-thread.ts: hashes each slot of the shared ring in order, marks it
 * hashed, and once the writer says the end has come and every slot is hashed, posts the digest.
 */
const ring = workerData as RingData;
const { slots, slotBytes } = ring;
const { control, lengths, data } = ringViews(ring);
const hash = createHash('sha256');
for (let hashed = 0; ;) {
  // Read before the checks: any later event changes it, so the wait below cannot miss one.
  const signal = Atomics.load(control, CONTROL.signal);
  if (hashed < Atomics.load(control, CONTROL.written)) {
    const slot = hashed % slots;
    hash.update(data.subarray(slot * slotBytes, slot * slotBytes + lengths[slot]));
    Atomics.store(control, CONTROL.hashed, ++hashed);
    Atomics.notify(control, CONTROL.hashed);
  } else if (Atomics.load(control, CONTROL.ended) === 1) {
    break;
  } else {
    Atomics.wait(control, CONTROL.signal, signal);
  }
}
parentPort!.postMessage(hash.digest());
