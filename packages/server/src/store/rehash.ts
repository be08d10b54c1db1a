import { Readable } from 'node:stream';
import type { RehashOptions } from './blob-store.js';
import { writeThroughSlabs, type SlabSink } from './slab-writer.js';
import type { UploadBuffers } from './upload-buffers.js';

/** Re-reading stored bytes writes nothing: the slabs go to the hash workers only. */
const NOWHERE: SlabSink = { write: async () => undefined };

/**
 * The SHA-256 and size of stored bytes, read from `source` into the upload slabs and hashed by the
 * same worker threads as uploads (so the main thread only moves bytes), each chunk read only once
 * `pace` lets it through.
 */
export function rehashStream(
  source: Readable,
  buffers: UploadBuffers,
  options: RehashOptions = {},
): Promise<{ sha256: string; size: number }> {
  const paced = options.pace ? Readable.from(pacedChunks(source, options.pace)) : source;
  return writeThroughSlabs(paced, NOWHERE, buffers.slabs, buffers.hashing, Number.MAX_SAFE_INTEGER);
}

async function* pacedChunks(source: Readable, pace: (bytes: number) => Promise<void>): AsyncGenerator<Buffer> {
  for await (const chunk of source as AsyncIterable<Buffer>) {
    await pace(chunk.length);
    yield chunk;
  }
}
