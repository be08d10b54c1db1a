import type { Readable } from 'node:stream';
import { AppError } from '../errors.js';
import type { HashPool } from './hash-pool.js';

const SLAB_BYTES = 1024 * 1024;
const SLABS = 4;
/** Rings kept for reuse, so that a new upload does not fault in fresh memory. */
const CACHED_RINGS = 4;
const spareRings: SharedArrayBuffer[] = [];

/** Where the slabs go, in order: a file (a FileHandle) or an object store upload. */
export interface SlabSink {
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<unknown>;
}

/**
 * Copies a stream into a ring of 1 MiB slabs of shared memory; each full slab is written to
 * the file (positioned writes, on libuv's thread pool) and hashed by a worker thread at the
 * same time, so the main thread only moves bytes. A slab is refilled once both are done.
 * Resolves with the SHA-256 and the size once everything is written and hashed (not fsynced).
 */
export async function writeThroughSlabs(
  source: Readable,
  handle: SlabSink,
  pool: HashPool,
  maxBytes: number,
): Promise<{ sha256: string; size: number }> {
  const ring = spareRings.pop() ?? new SharedArrayBuffer(SLAB_BYTES * SLABS);
  const ringBuffer = Buffer.from(ring);
  const busy = new Array<number>(SLABS).fill(0);
  let waiting: { slab: number; resolve: () => void } | null = null;
  let writeError: unknown = null;
  const writes = new Set<Promise<void>>();

  const release = (slab: number) => {
    busy[slab]--;
    if (waiting && busy[waiting.slab] === 0) {
      const { resolve } = waiting;
      waiting = null;
      resolve();
    }
  };
  const whenFree = (slab: number) =>
    busy[slab] === 0 ? Promise.resolve() : new Promise<void>((resolve) => (waiting = { slab, resolve }));
  const hash = pool.open(ring, release);

  let size = 0;
  let slab = 0;
  let filled = 0;
  const flush = (length: number) => {
    busy[slab] = 2;
    hash.update(slab, slab * SLAB_BYTES, length);
    const write: Promise<void> = handle.write(ringBuffer, slab * SLAB_BYTES, length, size - length).then(
      () => undefined,
      (error: unknown) => {
        writeError ??= error;
      },
    );
    const slabWritten = slab;
    writes.add(write);
    void write.finally(() => {
      writes.delete(write);
      release(slabWritten);
    });
  };

  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (size + chunk.length > maxBytes) throw new AppError('PAYLOAD_TOO_LARGE', `the file is larger than the limit of ${maxBytes} bytes`);
      let offset = 0;
      while (offset < chunk.length) {
        if (filled === 0) {
          await whenFree(slab);
          if (writeError) throw writeError;
        }
        const take = Math.min(chunk.length - offset, SLAB_BYTES - filled);
        chunk.copy(ringBuffer, slab * SLAB_BYTES + filled, offset, offset + take);
        filled += take;
        offset += take;
        size += take;
        if (filled === SLAB_BYTES) {
          flush(filled);
          slab = (slab + 1) % SLABS;
          filled = 0;
        }
      }
    }
    if (filled > 0) flush(filled);
    for (let index = 0; index < SLABS; index++) await whenFree(index);
    if (writeError) throw writeError;
    const sha256 = await hash.digest();
    if (spareRings.length < CACHED_RINGS) spareRings.push(ring);
    return { sha256, size };
  } catch (error) {
    hash.abandon();
    await Promise.allSettled([...writes]);
    throw error;
  }
}
