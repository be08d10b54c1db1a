import { createSHA256, type IHasher } from 'hash-wasm';
import { parentPort } from 'node:worker_threads';

/**
 * Hashes the bytes of resumable uploads off the request thread, with a SHA-256 whose state can
 * be saved and loaded (hash-wasm): node:crypto's cannot. Messages (see resumable-hashing.ts), in
 * order per session:
 *   { session, load: Uint8Array | null }   start from a saved state (null: from nothing)
 *   { session, chunk: Uint8Array }         hash these bytes next
 *   { session, save: true }                reply { session, state } (the state after every chunk sent)
 *   { session, digest: true }              reply { session, sha256 } and forget the session
 *   { session, end: true }                 forget the session
 */
export interface HashMessage {
  session: number;
  load?: Uint8Array | null;
  chunk?: Uint8Array;
  save?: true;
  digest?: true;
  end?: true;
}

/** Each session's hasher, as a chain: every message waits for the one before it. */
const sessions = new Map<number, Promise<IHasher>>();

parentPort!.on('message', (message: HashMessage) => {
  const { session } = message;
  if (message.load !== undefined) {
    const { load } = message;
    sessions.set(
      session,
      createSHA256().then((hasher) => {
        hasher.init();
        if (load) hasher.load(load);
        return hasher;
      }),
    );
    return;
  }
  const hasher = sessions.get(session);
  if (!hasher) return;
  if (message.end) return void sessions.delete(session);
  if (message.digest) {
    sessions.delete(session);
    void hasher.then((hash) => parentPort!.postMessage({ session, sha256: hash.digest('hex') }));
    return;
  }
  sessions.set(
    session,
    hasher.then((hash) => {
      if (message.chunk) hash.update(message.chunk);
      if (message.save) parentPort!.postMessage({ session, state: hash.save() });
      return hash;
    }),
  );
});
