import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { CONTROL, type RingData } from './hash-ring.js';

/**
 * The hashing thread of hash-thread.ts: hashes each slot of the shared ring in order, marks it
 * hashed, and once the writer says the end has come and every slot is hashed, posts the digest.
 */
const { shared, slots, slotBytes } = workerData as RingData;
const control = new Int32Array(shared, 0, CONTROL.length);
const lengths = new Int32Array(shared, CONTROL.length * 4, slots);
const data = new Uint8Array(shared, (CONTROL.length + slots) * 4);
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
