import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

/**
 * Hashes slabs of shared memory for the uploads in flight, so that the main thread only moves
 * bytes from the socket to the disk. Messages (see hash-pool.ts):
 *   { session, ring, slab, offset, length }  hash that part of the ring, reply { session, slab }
 *   { session, digest: true }                reply { session, sha256 } and forget the session
 *   { session, abandon: true }               forget the session
 */
interface SlabMessage {
  session: number;
  ring?: SharedArrayBuffer;
  slab?: number;
  offset?: number;
  length?: number;
  digest?: boolean;
  abandon?: boolean;
}

const hashes = new Map<number, Hash>();
const rings = new Map<number, SharedArrayBuffer>();

parentPort!.on('message', (message: SlabMessage) => {
  const { session } = message;
  if (message.abandon) {
    hashes.delete(session);
    rings.delete(session);
    return;
  }
  let hash = hashes.get(session);
  if (!hash) {
    hash = createHash('sha256');
    hashes.set(session, hash);
  }
  if (message.digest) {
    parentPort!.postMessage({ session, sha256: hash.digest('hex') });
    hashes.delete(session);
    rings.delete(session);
    return;
  }
  if (message.ring) rings.set(session, message.ring);
  hash.update(new Uint8Array(rings.get(session)!, message.offset, message.length));
  parentPort!.postMessage({ session, slab: message.slab });
});
