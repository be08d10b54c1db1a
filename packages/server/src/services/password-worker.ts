import { hashSync, verifySync } from '@node-rs/argon2';
import { readlinkSync } from 'node:fs';
import { constants, setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';

/**
 * One password hash at a time, computed synchronously on this thread: argon2's async calls
 * would run on libuv's thread pool, which every file read and write of the server waits for.
 * Messages (see password-pool.ts):
 *   { password, memoryKiB, passes }  reply { result: PHC string }
 *   { password, hash }               reply { result: whether it matches }
 *   any failure                      reply { error }
 */
export type PasswordJob = { password: string; memoryKiB: number; passes: number } | { password: string; hash: string };

const ARGON2ID = 2;

// With as many hashing threads as cores, hashing alone could fill the CPU: these threads run at
// the lowest priority, so that the event loop and file I/O always come first. On Linux a thread
// has an id of its own that setpriority accepts; elsewhere the thread keeps the normal priority.
try {
  const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
  setPriority(threadId, constants.priority.PRIORITY_LOW);
} catch {
  // Not Linux: no per-thread priority to set.
}

parentPort!.on('message', (job: PasswordJob) => {
  try {
    const result =
      'hash' in job
        ? verifySync(job.hash, job.password)
        : hashSync(job.password, { algorithm: ARGON2ID, memoryCost: job.memoryKiB, timeCost: job.passes, parallelism: 1 });
    parentPort!.postMessage({ result });
  } catch (error) {
    parentPort!.postMessage({ error: (error as Error).message });
  }
});
