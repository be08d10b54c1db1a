import { ERROR_STATUS, REASON_PHRASE, type ErrorBody, type ErrorCode } from '@cloudstore/shared';

/** A failure the API reports with a stable code (API.md, "Errors"). Thrown anywhere, mapped once. */
export class AppError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra fields for the body (`owners`, `challenge`, `status`). */
    readonly extra: Record<string, unknown> = {},
    /** Extra response headers (`Retry-After`). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.statusCode = ERROR_STATUS[code];
  }

  body(): ErrorBody {
    return {
      statusCode: this.statusCode,
      code: this.code,
      error: REASON_PHRASE[this.statusCode] ?? 'Error',
      message: this.message,
      ...this.extra,
    };
  }
}

export const fileNotFound = (filename: string) => new AppError('FILE_NOT_FOUND', `no file named '${filename}' is visible to you`);

export const validationFailed = (message: string) => new AppError('VALIDATION_FAILED', message);

/** Stored bytes that no longer match their digest are never served (API.md, "Scrub and verify"). */
export const contentDamaged = (subject: string, advice = 'an upload of the same bytes repairs it') =>
  new AppError('CONTENT_DAMAGED', `the stored content of ${subject} is damaged (its bytes no longer match its digest): ${advice}`);
