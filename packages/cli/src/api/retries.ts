import { CliError } from '../errors.js';
import { ApiError } from './client.js';

/** What a transfer needs to try again: the waits before each further try, and a way to wait. */
export interface RetryPolicy {
  /** The waits before the 2nd, 3rd, … try; one try more than waits in all. */
  delaysMs: readonly number[];
  sleep(milliseconds: number): Promise<void>;
  /** Told before each wait, to say on the terminal why the transfer pauses. */
  onRetry(reason: string, delayMs: number, nextTry: number, tries: number): void;
}

/**
 * A cut connection, a server error, or an upload whose offset moved on the server may pass on
 * another try (which starts from what the server holds); anything else (a refusal, a local
 * error) will not.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof ApiError) return error.statusCode >= 500 || error.code === 'UPLOAD_OFFSET_MISMATCH';
  return error instanceof CliError && ['NETWORK_ERROR', 'UPLOAD_INCOMPLETE'].includes(error.code);
}

/**
 * Runs `attempt` until it succeeds, a failure is not transient, or the tries are used up (then
 * the last failure is thrown). Each attempt is told its number and starts from what the
 * previous one left behind (a longer part file, a later upload offset).
 */
export async function withRetries<T>(policy: RetryPolicy, attempt: (tryNumber: number) => Promise<T>): Promise<T> {
  const tries = policy.delaysMs.length + 1;
  for (let tryNumber = 1; ; tryNumber += 1) {
    try {
      return await attempt(tryNumber);
    } catch (error) {
      if (tryNumber >= tries || !isTransient(error)) throw error;
      const delayMs = policy.delaysMs[tryNumber - 1];
      policy.onRetry((error as Error).message, delayMs, tryNumber + 1, tries);
      await policy.sleep(delayMs);
    }
  }
}
