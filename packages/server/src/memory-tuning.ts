import { setFlagsFromString } from 'node:v8';

/** Over glibc's default mmap threshold (128 KiB), under the cap of its dynamic threshold (32 MiB). */
const THRESHOLD_RAISING_BYTES = 16 * 1024 * 1024;

/**
 * Two settings of the process's memory managers that keep a large transfer after an idle spell
 * as fast as one in a busy server (measured by hand, issue 18: docs/PERFORMANCE-NOTES.md,
 * "Uploads after an idle spell"). A 1 GiB body arrives as some 16,000 socket chunks, each
 * copied by Node's HTTP parser into a buffer of its own.
 *
 * - V8's incremental marking is turned off. After half a minute without work V8 lowers its heap
 *   limits; the next upload then started a major collection every 50-100 ms, 25-50 of them a
 *   GiB, each marking the whole heap on four threads: up to 1.5 core-seconds a GiB, and half the
 *   throughput on two cores. Without it, a major collection runs when the old generation
 *   reaches its limit, as one parallel pause: 23-37 ms for this 20-27 MB heap (measured), now and
 *   then, instead of marking all the time.
 * - glibc's trim threshold is raised, the way glibc itself raises it (mallopt(3), M_MMAP_THRESHOLD):
 *   freeing a block it had allocated with mmap sets the mmap threshold to that block's size and
 *   the trim threshold to twice that. Without it, the top of the heap went back to the kernel
 *   between batches of chunks and was faulted in again: 70,000-150,000 page faults a GiB, in the
 *   parser's copy of each chunk. One 16 MiB buffer, dropped at once, is freed by the next
 *   garbage collection. Elsewhere than glibc it is only that.
 *
 * V8 reads this flag whenever it would start marking, so setting it at start-up takes effect.
 */
export function tuneMemoryForTransfers(): void {
  setFlagsFromString('--no-incremental-marking');
  Buffer.allocUnsafeSlow(THRESHOLD_RAISING_BYTES).fill(0, 0, 1);
}
