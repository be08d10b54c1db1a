import type { Readable } from 'node:stream';
import { AppError } from '../errors.js';
import { consumeStream } from './consume-stream.js';
import type { HashPool } from './hash-pool.js';
import { SLAB_BYTES, type SlabPool } from './slab-pool.js';

/**
 * Slabs one upload holds at most: one filling while others are written and hashed. Eight, not
 * four: on a loaded machine the hashing thread and the disk lag now and then by a few slabs, and
 * with four the socket then waited for a slab 15-30 % of the time (measured, issue 18).
 */
const SLABS_PER_UPLOAD = 8;
/**
 * A slab half filled by a client that went quiet goes out (written and hashed as it is) after
 * this long, back to the pool: a stalled or trickling upload holds no buffer that others wait for.
 * A fast upload fills a slab in a few milliseconds and seldom meets it.
 */
export const FILL_WINDOW_MS = 100;
/**
 * What a slab sent out early holds is cut to a multiple of this, the rest (less than this)
 * kept aside to start the next slab: every write then starts at a multiple of it, as O_DIRECT
 * needs (direct-writes.ts). Without the cut, one pause of a loaded client put every later slab
 * of its upload off the boundary, and through the page cache.
 */
export const WRITE_BLOCK_BYTES = 4096;

/** Where the slabs go, in order: a file (a FileHandle) or an object store upload. */
export interface SlabSink {
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<unknown>;
  /**
   * Resolves once the sink can take slabs without waiting for memory of its own (an S3 upload's
   * part buffer); asked before each slab is taken, so that no slab is held while it waits.
   */
  reserve?(signal: AbortSignal): Promise<void>;
}

/**
 * Copies a stream into 1 MiB slabs of the shared pool; each full slab is written to the sink
 * (a file: positioned writes, on libuv's thread pool; an S3 upload: see s3-upload.ts) and hashed
 * by a worker thread at the same time, so the main thread only moves bytes. A slab goes back to the pool once both are done.
 * Resolves with the SHA-256 and the size once everything is written and hashed (not fsynced).
 */
export async function writeThroughSlabs(
  source: Readable,
  handle: SlabSink,
  slabs: SlabPool,
  hashing: HashPool,
  maxBytes: number,
): Promise<{ sha256: string; size: number }> {
  /** Pending completions (write, hash) of each slab sent out. */
  const pending = new Map<number, number>();
  let held = 0;
  let onRelease: (() => void) | null = null;
  let writeError: unknown = null;
  const writes = new Set<Promise<void>>();

  /** One of a slab's completions (its write, its hash); -1: a slab given back unwritten. */
  const done = (written: number) => {
    if (written !== -1) {
      const left = pending.get(written)! - 1;
      if (left > 0) return void pending.set(written, left);
      pending.delete(written);
      slabs.release(written);
    }
    held--;
    const wake = onRelease;
    onRelease = null;
    wake?.();
  };
  const whenHeldBelow = async (limit: number) => {
    while (held >= limit) await new Promise<void>((resolve) => (onRelease = resolve));
  };
  const hash = hashing.open(done);
  // A client that goes away while the upload waits for a slab stops the wait. (A stream that
  // ended also closes, while its last chunk may still wait for a slab.)
  const gone = new AbortController();
  const onClose = () => {
    // The source's own error, when it has one, is the one the caller sees.
    if (source.readableAborted) gone.abort(source.errored ?? new Error('the upload stream closed before its end'));
  };
  source.once('close', onClose);

  let size = 0;
  /** Bytes sent to the sink and the hash so far: where the next slab goes. */
  let sent = 0;
  let slab = -1;
  let filled = 0;
  /** The end of a slab sent out early, short of a whole WRITE_BLOCK_BYTES: the next slab starts with it. */
  let carried: Buffer | null = null;
  let fillTimer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(fillTimer);
    const offset = slabs.offsetOf(slab);
    pending.set(slab, 2);
    hash.update(slab, offset, filled);
    const write: Promise<void> = handle.write(slabs.buffer, offset, filled, sent).then(
      () => undefined,
      (error: unknown) => {
        writeError ??= error;
      },
    );
    const written = slab;
    writes.add(write);
    void write.finally(() => {
      writes.delete(write);
      done(written);
    });
    sent += filled;
    slab = -1;
    filled = 0;
  };
  /** Sends out what the slab holds in whole blocks, keeps the rest aside, and gives the slab back. */
  const flushEarly = () => {
    const whole = filled - (filled % WRITE_BLOCK_BYTES);
    const start = slabs.offsetOf(slab);
    if (whole < filled) carried = Buffer.from(slabs.buffer.subarray(start + whole, start + filled));
    if (whole > 0) {
      filled = whole;
      return flush();
    }
    slabs.release(slab);
    done(-1);
    slab = -1;
    filled = 0;
  };
  const fill = (taken: number) => {
    slab = taken;
    held++;
    if (carried) {
      slabs.copyIn(slab, 0, carried);
      filled = carried.length;
      carried = null;
    }
    fillTimer = setTimeout(() => {
      if (slab !== -1 && filled > 0) flushEarly();
    }, FILL_WINDOW_MS);
  };
  /** A slab to fill right now, when one is to be had without waiting. */
  const fillNow = (): boolean => {
    if (held >= SLABS_PER_UPLOAD || writeError || handle.reserve) return false;
    const taken = slabs.tryAcquire();
    if (taken === undefined) return false;
    fill(taken);
    return true;
  };
  const fillWhenFree = async () => {
    await whenHeldBelow(SLABS_PER_UPLOAD);
    if (writeError) throw writeError;
    await handle.reserve?.(gone.signal);
    fill(await slabs.acquire(gone.signal));
  };
  /** Copies `chunk` from `offset` on into slabs until it is done or a slab must be waited for; returns where it stopped. */
  const copy = (chunk: Buffer, offset: number): number => {
    while (offset < chunk.length) {
      if (slab === -1 && !fillNow()) return offset;
      const take = Math.min(chunk.length - offset, SLAB_BYTES - filled);
      slabs.copyIn(slab, filled, chunk.subarray(offset, offset + take));
      filled += take;
      offset += take;
      size += take;
      if (filled === SLAB_BYTES) flush();
    }
    return offset;
  };
  const copyWaiting = async (chunk: Buffer, offset: number) => {
    while (offset < chunk.length) {
      await fillWhenFree();
      offset = copy(chunk, offset);
    }
  };

  try {
    // Synchronous while slabs are free, which is most of the time: no promise per chunk.
    await consumeStream(source, (chunk) => {
      if (size + chunk.length > maxBytes) throw new AppError('PAYLOAD_TOO_LARGE', `the file is larger than the limit of ${maxBytes} bytes`);
      const stopped = copy(chunk, 0);
      return stopped < chunk.length ? copyWaiting(chunk, stopped) : undefined;
    });
    if (carried && slab === -1) await fillWhenFree();
    if (slab !== -1) flush();
    await whenHeldBelow(1);
    if (writeError) throw writeError;
    return { sha256: await hash.digest(), size };
  } catch (error) {
    clearTimeout(fillTimer);
    if (slab !== -1) {
      slabs.release(slab);
      held--;
    }
    await Promise.allSettled([...writes]);
    await hash.abandon();
    throw error;
  } finally {
    source.removeListener('close', onClose);
  }
}
