import { EXIT, ReportedFailure, toCliError, type ExitCode } from '../../errors.js';
import type { Output, Subject } from '../../terminal/output.js';

/**
 * Runs one action per item, in order. A failure is reported (error line, and its `--json`
 * line) and the batch goes on; at the end the command exits with the first failure's code
 * (CLI.md, "Scripting"). Ctrl-C stops the batch at once.
 */
export async function forEachItem<T>(
  output: Output,
  items: readonly T[],
  subjectOf: (item: T) => Subject,
  action: (item: T) => Promise<void>,
): Promise<void> {
  let firstFailure: ExitCode | undefined;
  for (const item of items) {
    try {
      await action(item);
    } catch (error) {
      const failure = toCliError(error);
      if (failure.exitCode === EXIT.interrupted) throw failure;
      output.failure(failure, subjectOf(item));
      firstFailure ??= failure.exitCode;
    }
  }
  if (firstFailure !== undefined) throw new ReportedFailure(firstFailure);
}

/** A command on one file: failures are reported as for a batch of one, with its `--json` line. */
export function forOneItem(output: Output, subject: Subject, action: () => Promise<void>): Promise<void> {
  return forEachItem(output, [subject], () => subject, action);
}
