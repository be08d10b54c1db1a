import { HashPool } from './hash-pool.js';
import { SlabPool } from './slab-pool.js';

/**
 * Hashing runs on worker threads while the main thread moves bytes to the store: measured
 * faster than hashing inline, behind multipart as well as on the raw route (docs/PERFORMANCE.md).
 */
const HASH_THREADS = 2;
/**
 * 1 MiB slabs shared by every upload in flight: eight keep one upload at full speed, so this
 * many keep several busy at once, and bound what any number of uploads can hold.
 */
const UPLOAD_SLABS = 32;

/** The one slab pool of a store's uploads and the threads that hash its slabs in place. */
export interface UploadBuffers {
  slabs: SlabPool;
  hashing: HashPool;
}

/** Made at a store's first write: a store that only reads needs no threads and no buffers. */
export function createUploadBuffers(): UploadBuffers {
  const slabs = new SlabPool(UPLOAD_SLABS);
  return { slabs, hashing: new HashPool(HASH_THREADS, slabs.memory) };
}
