import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Keeps the CLI's peak memory near what it really uses while it streams a large file (goal:
 * under 96 MiB for 1 GiB). Two things would otherwise dominate it:
 *
 * - undici parses HTTP with llhttp compiled to WebAssembly, and V8's optimising tier compiles
 *   that module in the background for some 35 MiB of peak memory. The baseline tier alone
 *   needs almost none, and parsing a few large messages costs the same.
 * - Node frees a Buffer's memory only when V8 collects the Buffer object, and V8 collects on
 *   its own only once 64 MiB of such memory has piled up. Streams allocate a buffer per read,
 *   so a young-generation collection after every few MiB streamed returns them promptly.
 *   `gc` is not exposed by default; V8 exposes it when asked at run time.
 */
const COLLECT_AFTER_BYTES = 8 * 1024 * 1024;

let collectYoung: (() => void) | undefined;
let streamedSinceCollection = 0;

/** Called once at start-up, before the first connection compiles the HTTP parser. */
export function boundMemory(): void {
  setFlagsFromString('--liftoff-only');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (options: { type: 'minor' }) => void;
  collectYoung = () => gc({ type: 'minor' });
}

/** Counts bytes of file content that went through a fresh buffer, and collects now and then. */
export function noteStreamed(bytes: number): void {
  streamedSinceCollection += bytes;
  if (streamedSinceCollection < COLLECT_AFTER_BYTES || !collectYoung) return;
  streamedSinceCollection = 0;
  collectYoung();
}
