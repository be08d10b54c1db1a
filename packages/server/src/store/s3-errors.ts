import { AppError } from '../errors.js';

/** How long a throttled client should wait before it tries again, in seconds. */
const THROTTLED_RETRY_AFTER_SECONDS = 5;

/** The engine asks us to slow down (AWS SlowDown, Ceph and MinIO 503s, 429). */
const THROTTLING_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
]);

/** The bucket, or our right to it, is gone: the store refuses us. */
const REFUSAL_NAMES = new Set([
  'NoSuchBucket',
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AllAccessDisabled',
  'InvalidToken',
  'ExpiredToken',
]);

/** The engine cannot be reached or did not answer in time. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);
const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const statusOf = (error: SdkError) => error.$metadata?.httpStatusCode;

/** The object (or the upload) is not there: the answer to a question, not an outage. */
export function isNotFound(error: unknown): boolean {
  const { name } = error as SdkError;
  return (
    name === 'NoSuchKey' ||
    name === 'NotFound' ||
    name === 'NoSuchUpload' ||
    (statusOf(error as SdkError) === 404 && name !== 'NoSuchBucket')
  );
}

/** The engine does not implement this call (s3rver: ListMultipartUploads, AbortMultipartUpload). */
export function isNotImplemented(error: unknown): boolean {
  const { name } = error as SdkError;
  const status = statusOf(error as SdkError);
  return name === 'NotImplemented' || name === 'MethodNotAllowed' || status === 501 || status === 405;
}

/** Why the store refuses to be used at all, in a few words; null when this is no refusal or outage. */
export function refusalReason(error: unknown): string | null {
  const { name, code, message } = error as SdkError;
  if (name === 'NoSuchBucket') return 'the bucket does not exist (NoSuchBucket)';
  if (name !== undefined && REFUSAL_NAMES.has(name)) return `the credentials are refused (${name})`;
  if (statusOf(error as SdkError) === 403) return `access is denied (${name ?? 403})`;
  if (code !== undefined && NETWORK_CODES.has(code)) return `the store is unreachable (${code})`;
  if (name !== undefined && TIMEOUT_NAMES.has(name)) return `the store did not answer in time (${name})`;
  if ((statusOf(error as SdkError) ?? 0) >= 500) return `the store fails (${name ?? statusOf(error as SdkError)}: ${message ?? ''})`.trim();
  return null;
}

/**
 * Turns an S3 SDK error into a domain error, as repositories/db-errors.ts does for the database:
 * throttling is 503 with Retry-After; an unreachable, failing or refusing store is 503. Anything
 * else (a bug, a missing object) is returned as it is.
 */
export function translateS3Error(error: unknown): unknown {
  if (error instanceof AppError) return error;
  const { name } = error as SdkError;
  const status = statusOf(error as SdkError);
  if ((name !== undefined && THROTTLING_NAMES.has(name)) || status === 429) {
    return new AppError(
      'SERVICE_UNAVAILABLE',
      'the object store is busy, try again shortly',
      {},
      { 'retry-after': String(THROTTLED_RETRY_AFTER_SECONDS) },
    );
  }
  if (refusalReason(error) !== null) return new AppError('SERVICE_UNAVAILABLE', 'the object store is unavailable, try again shortly');
  return error;
}
