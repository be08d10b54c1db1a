import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

/**
 * Hashes slabs of the slab pool's shared memory for the uploads in flight, so that the main
 * thread only moves bytes from the socket to the disk. Messages (see hash-pool.ts):
 *   { memory }                          the pool's memory, once, before any other
 *   { session, slab, offset, length }   hash that part of it, reply { session, slab }
 *   { session, digest: true }           reply { session, sha256 } and forget the session
 *   { session, abandon: true }          forget the session, reply { session, abandoned: true }
 */
interface Message {
  memory?: SharedArrayBuffer;
  session: number;
  slab?: number;
  offset?: number;
  length?: number;
  digest?: boolean;
  abandon?: boolean;
}

const hashes = new Map<number, Hash>();
let memory: SharedArrayBuffer | null = null;

parentPort!.on('message', (message: Message) => {
  if (message.memory) {
    memory = message.memory;
    return;
  }
  const { session } = message;
  if (message.abandon) {
    hashes.delete(session);
    parentPort!.postMessage({ session, abandoned: true });
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
    return;
  }
  hash.update(new Uint8Array(memory!, message.offset, message.length));
  parentPort!.postMessage({ session, slab: message.slab });
});
