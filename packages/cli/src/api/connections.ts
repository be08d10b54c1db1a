/**
 * The pool of keep-alive connections, kept apart from the client so that `--help` and
 * `--version` end without loading the HTTP library at all.
 */
interface Closable {
  close(): Promise<void>;
}

let pool: Closable | undefined;

export function keepPool<T extends Closable>(create: () => T): T {
  pool ??= create();
  return pool as T;
}

/** Lets the process end without waiting for idle keep-alive connections to time out. */
export async function closeConnections(): Promise<void> {
  const open = pool;
  pool = undefined;
  await open?.close();
}
