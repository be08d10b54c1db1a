import { createHash, type Hash } from 'node:crypto';
import { createSHA256, type IHasher } from 'hash-wasm';
import { parentPort } from 'node:worker_threads';

/**
 * Hashes the bytes of resumable uploads off the request thread, in one of two ways per session:
 * - portable: hash-wasm's SHA-256, whose state can be saved and loaded, so that any instance
 *   continues from the state kept in the database (the way for stores that cannot read back
 *   an unfinished upload, such as S3);
 * - fast: node:crypto's (SHA-NI, about four times hash-wasm's speed), whose state cannot leave
 *   the process: a copy is kept here at each durable point, by upload and under a mark that
 *   the database records with that point, and a session that finds no copy under the mark and
 *   offset it is given says so, for the caller to hash the stored bytes again.
 * Messages (see resumable-hashing.ts), in order per session:
 *   { session, load: Uint8Array | null }      portable: start from a saved state (null: from nothing)
 *   { session, resume: { upload, mark, offset } }
 *                                             fast: continue the copy kept under that mark; reply
 *                                             { session, caughtUp } (false: started from nothing,
 *                                             the stored bytes to come first)
 *   { session, chunk: Uint8Array }            hash these bytes next
 *   { session, shared: Uint8Array }           hash these bytes of shared memory next, where they
 *                                             lie; reply { session } once hashed
 *   { session, save: true, mark? }            reply { session, state } (portable: the state after
 *                                             every chunk sent; fast: a copy kept under `mark`, state null)
 *   { session, sync: true }                   reply { session, spare } once every chunk sent is hashed
 *   { session, digest: true }                 reply { session, sha256 } and forget the session
 *   { session, end: true }                    forget the session
 *   { forget: upload }                        drop the copy kept for that upload
 * A sync's reply also gives back the buffers of chunks hashed since the last one (`spare`, moved,
 * not copied), for the next chunks: a new buffer for each would cost the request thread a page
 * fault every 4 KiB it copies into one.
 */
export interface HashMessage {
  session?: number;
  load?: Uint8Array | null;
  resume?: { upload: string; mark: string; offset: number };
  chunk?: Uint8Array;
  shared?: Uint8Array;
  save?: true;
  mark?: string;
  sync?: true;
  digest?: true;
  end?: true;
  forget?: string;
}

/** Copies of fast hashes kept per thread at most, the least recently saved dropped first (rebuilt if needed). */
const KEPT_COPIES = 1024;
/**
 * Buffers of hashed chunks held for the next sync's reply, at most (the rest are left to the
 * collector); only an open session's, and none once no session is open, so that an idle thread
 * holds none.
 */
const SPARE_BUFFERS = 16;
const spare: ArrayBuffer[] = [];

/** One hash in progress, portable or fast alike. */
interface Hasher {
  update(bytes: Uint8Array): void;
  /** Portable: the state; fast: null, after keeping a copy under `mark`. */
  save(mark: string): Uint8Array | null;
  digest(): string;
}

function portable(hash: IHasher): Hasher {
  return { update: (bytes) => hash.update(bytes), save: () => hash.save(), digest: () => hash.digest('hex') };
}

const kept = new Map<string, { mark: string; offset: number; hash: Hash }>();

function fast(upload: string, hash: Hash, startOffset: number): Hasher {
  let offset = startOffset;
  return {
    update: (bytes) => {
      hash.update(bytes);
      offset += bytes.length;
    },
    save: (mark) => {
      kept.delete(upload);
      kept.set(upload, { mark, offset, hash: hash.copy() });
      if (kept.size > KEPT_COPIES) kept.delete(kept.keys().next().value!);
      return null;
    },
    digest: () => {
      kept.delete(upload);
      return hash.digest('hex');
    },
  };
}

/** Each session's hasher, as a chain: every message waits for the one before it. */
const sessions = new Map<number, Promise<Hasher>>();

parentPort!.on('message', (message: HashMessage) => {
  if (message.forget !== undefined) return void kept.delete(message.forget);
  const session = message.session!;
  if (message.load !== undefined) {
    const { load } = message;
    sessions.set(
      session,
      createSHA256().then((hash) => {
        hash.init();
        if (load) hash.load(load);
        return portable(hash);
      }),
    );
    return;
  }
  if (message.resume) {
    const { upload, mark, offset } = message.resume;
    const copy = kept.get(upload);
    const isKept = copy !== undefined && copy.mark === mark && copy.offset === offset;
    parentPort!.postMessage({ session, caughtUp: isKept || offset === 0 });
    sessions.set(session, Promise.resolve(isKept ? fast(upload, copy.hash.copy(), offset) : fast(upload, createHash('sha256'), 0)));
    return;
  }
  const hasher = sessions.get(session);
  if (!hasher) return;
  const forgetSession = () => {
    sessions.delete(session);
    if (sessions.size === 0) spare.length = 0;
  };
  if (message.end) return forgetSession();
  if (message.digest) {
    forgetSession();
    void hasher.then((hash) => parentPort!.postMessage({ session, sha256: hash.digest() }));
    return;
  }
  sessions.set(
    session,
    hasher.then((hash) => {
      if (message.chunk) {
        hash.update(message.chunk);
        const isOpen = sessions.has(session);
        if (isOpen && spare.length < SPARE_BUFFERS && message.chunk.buffer instanceof ArrayBuffer) spare.push(message.chunk.buffer);
      }
      if (message.shared) {
        hash.update(message.shared);
        parentPort!.postMessage({ session });
      }
      if (message.save) parentPort!.postMessage({ session, state: hash.save(message.mark ?? '') });
      if (message.sync) {
        const given = spare.splice(0);
        parentPort!.postMessage({ session, spare: given }, given);
      }
      return hash;
    }),
  );
});
