/**
 * Copies `source` into `target`, a Buffer over shared memory (a SharedArrayBuffer), from byte
 * `at`. Not `source.copy(target, …)`: V8 copies into shared memory with relaxed atomics, a byte at
 * a time unless both sides have the same word alignment (socket chunks and multipart parts seldom
 * do), measured at 1–3 GB/s (issue 18); `fill` with a source of the range's own length is one
 * memcpy (15–77 GB/s on the same machines). The server's upload slabs and the CLI's hashing ring
 * both take their bytes this way.
 */
export function copyIntoShared(target: Buffer, at: number, source: Uint8Array): void {
  if (source.length === 0) return;
  target.fill(source, at, at + source.length);
}
