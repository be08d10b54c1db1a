import { Readable } from 'node:stream';
import type { BlobStore, RehashOptions } from './blob-store.js';
import { writeThroughSlabs, type SlabSink } from './slab-writer.js';
import type { UploadBuffers } from './upload-buffers.js';

/** Re-reading stored bytes writes nothing: the slabs go to the hash workers only. */
const NOWHERE: SlabSink = { write: async () => undefined };

/**
 * BlobStore.rehash for any store: the stored bytes of `sha256` read back through the store's own
 * `read` and hashed on its upload buffers; null when nothing is stored under that digest.
 */
export async function rehashStored(
  store: Pick<BlobStore, 'read' | 'stat'>,
  buffers: UploadBuffers,
  sha256: string,
  options?: RehashOptions,
): Promise<{ sha256: string; size: number } | null> {
  if (!(await store.stat(sha256))) return null;
  try {
    return await rehashStream(store.read(sha256), buffers, options);
  } catch (error) {
    // Removed while it was read (a delete's collection): nothing stored any more.
    if (!(await store.stat(sha256))) return null;
    throw error;
  }
}

/**
 * The SHA-256 and size of stored bytes, read from `source` into the upload slabs and hashed by the
 * same worker threads as uploads (so the main thread only moves bytes), each chunk read only once
 * `pace` lets it through.
 */
function rehashStream(source: Readable, buffers: UploadBuffers, options: RehashOptions = {}): Promise<{ sha256: string; size: number }> {
  const paced = options.pace ? Readable.from(pacedChunks(source, options.pace)) : source;
  return writeThroughSlabs(paced, NOWHERE, buffers.slabs, buffers.hashing, Number.MAX_SAFE_INTEGER);
}

async function* pacedChunks(source: Readable, pace: (bytes: number) => Promise<void>): AsyncGenerator<Buffer> {
  for await (const chunk of source as AsyncIterable<Buffer>) {
    await pace(chunk.length);
    yield chunk;
  }
}
