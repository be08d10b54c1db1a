import type { ErrorCode } from '@cloudstore/shared';

/** CLI.md's exit codes. */
export const EXIT = {
  success: 0,
  failure: 1,
  usage: 2,
  unauthenticated: 3,
  notFound: 4,
  notAllowed: 5,
  conflict: 6,
  integrity: 7,
  /** The shell's convention for a command stopped by Ctrl-C (128 + SIGINT). */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const EXIT_FOR_API_CODE: Partial<Record<ErrorCode, ExitCode>> = {
  VALIDATION_FAILED: EXIT.usage,
  UNAUTHENTICATED: EXIT.unauthenticated,
  INVALID_CREDENTIALS: EXIT.unauthenticated,
  FILE_NOT_FOUND: EXIT.notFound,
  USER_NOT_FOUND: EXIT.notFound,
  NOT_SHARED: EXIT.notFound,
  NOT_OWNER: EXIT.notAllowed,
  USERNAME_TAKEN: EXIT.conflict,
  NAME_TAKEN: EXIT.conflict,
  AMBIGUOUS_FILENAME: EXIT.conflict,
  DIGEST_MISMATCH: EXIT.integrity,
  CONTENT_DAMAGED: EXIT.integrity,
};

/** The exit code for an API error code (CLI.md); every code it does not name is 1. */
export function exitCodeFor(code: string): ExitCode {
  return EXIT_FOR_API_CODE[code as ErrorCode] ?? EXIT.failure;
}

/**
 * A failure the CLI reports in one line with a documented exit code. `code` is the API's code
 * when the server gave one, else one of the CLI's own (PATH_NOT_FOUND, TARGET_EXISTS, ...), so
 * that a `--json` failure line always carries a stable code.
 */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const usageError = (message: string) => new CliError('USAGE', message, EXIT.usage);

/** Thrown once every item of a batch has been reported: only the exit code is left to give. */
export class ReportedFailure extends Error {
  constructor(readonly exitCode: ExitCode) {
    super(`exit ${exitCode}`);
  }
}

const LOCAL_ERRORS: Record<string, { code: string; reason: string; exitCode: ExitCode }> = {
  ENOENT: { code: 'PATH_NOT_FOUND', reason: 'no such file or directory', exitCode: EXIT.notFound },
  ENOTDIR: { code: 'PATH_NOT_FOUND', reason: 'a part of the path is not a directory', exitCode: EXIT.notFound },
  EISDIR: { code: 'IS_A_DIRECTORY', reason: 'is a directory', exitCode: EXIT.usage },
  EEXIST: { code: 'TARGET_EXISTS', reason: 'already exists', exitCode: EXIT.conflict },
  EACCES: { code: 'LOCAL_IO_FAILED', reason: 'permission denied', exitCode: EXIT.failure },
  EPERM: { code: 'LOCAL_IO_FAILED', reason: 'operation not permitted', exitCode: EXIT.failure },
  ENOSPC: { code: 'LOCAL_IO_FAILED', reason: 'no space left on the device', exitCode: EXIT.failure },
  EPIPE: { code: 'LOCAL_IO_FAILED', reason: 'the reader of the output went away', exitCode: EXIT.failure },
};

/**
 * Any error as a CliError: local file-system errors get their documented exit code and a
 * readable reason; anything else stays an unexpected failure (exit 1) with its own message.
 */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const local = typeof code === 'string' ? LOCAL_ERRORS[code] : undefined;
  if (local) return new CliError(local.code, local.reason, local.exitCode, { cause: error });
  return new CliError('UNEXPECTED', typeof message === 'string' ? message : String(error), EXIT.failure, { cause: error });
}
