import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { POSITION, WORD, progressViews } from './hash-progress.js';

/** What the thread is to hash (its `workerData`). */
export interface HashJob {
  progress: SharedArrayBuffer;
  part: string;
}

/** Its reads: small enough to be hashed from the core's own cache, large enough to be few. */
const READ_BYTES = 256 * 1024;

/**
 * The hashing thread of hash-thread.ts: reads the part back from its start as far as the writer
 * has written it, hashes it, says how far it has hashed, sleeps when it has caught up, and once
 * the writer says the end has come and all of it is hashed, posts the digest.
 */
const { progress, part } = workerData as HashJob;
const { control, positions } = progressViews(progress);
const hash = createHash('sha256');
const buffer = Buffer.allocUnsafeSlow(READ_BYTES);
const descriptor = openSync(part, 'r');
try {
  for (let hashed = 0; ;) {
    // Read before the checks: any later event changes it, so the wait below cannot miss one.
    const signal = Atomics.load(control, WORD.signal);
    // And the end before the position: once it is set, the position read after it is the last.
    const isEnded = Atomics.load(control, WORD.ended) === 1;
    const written = Number(Atomics.load(positions, POSITION.written));
    if (hashed < written) {
      const bytesRead = readSync(descriptor, buffer, 0, Math.min(READ_BYTES, written - hashed), hashed);
      if (bytesRead === 0) throw new Error(`${part} became shorter while it was downloaded`);
      hash.update(buffer.subarray(0, bytesRead));
      hashed += bytesRead;
      Atomics.store(positions, POSITION.hashed, BigInt(hashed));
      Atomics.notify(positions, POSITION.hashed);
    } else if (isEnded) {
      break;
    } else {
      Atomics.wait(control, WORD.signal, signal);
    }
  }
} finally {
  closeSync(descriptor);
}
parentPort!.postMessage(hash.digest());
