import { AppError } from '../errors.js';

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_LOCK_WAIT_TIMEOUT',
  // Still losing a lock race after every retry: the database is overloaded; try again later.
  'ER_LOCK_DEADLOCK',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  'SQLITE_IOERR',
  'SQLITE_CANTOPEN',
]);

/** A unique key was violated (on either database). */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** A transaction lost a lock race and may simply be run again. */
export function isRetryable(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'ER_LOCK_DEADLOCK' || isUniqueViolation(error);
}

/**
 * Turns a driver error that means "the database is not there" into 503 SERVICE_UNAVAILABLE.
 * Returns null for anything else (a bug: reported as 500 by the error handler).
 */
export function translateDatabaseError(error: unknown): AppError | null {
  if (error instanceof AppError) return error;
  const { code, name, message } = error as { code?: string; name?: string; message?: string };
  const isUnavailable =
    (code !== undefined && UNAVAILABLE_CODES.has(code)) ||
    name === 'KnexTimeoutError' ||
    (typeof message === 'string' && /Connection lost|connection is in closed state|Pool is closed/i.test(message));
  return isUnavailable ? new AppError('SERVICE_UNAVAILABLE', 'the database is unavailable, try again shortly') : null;
}
