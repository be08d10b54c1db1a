import type { CliError } from '../errors.js';
import { escapeControls } from './escape.js';
import { NO_PROGRESS, ProgressBar, type Progress, type TerminalStream } from './progress.js';

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  progress: boolean;
}

export interface OutputStreams {
  stdout: { write(text: string): unknown };
  stderr: TerminalStream;
  isStderrTTY: boolean;
  env: Readonly<Record<string, string | undefined>>;
  now: () => number;
}

/** What a result or a failure is about: its JSON fields, and how the error line names it. */
export interface Subject {
  label: string;
  fields: Record<string, string>;
}

/**
 * The one place that decides what reaches the user (CLI.md, "Scripting"): results on standard
 * output (a human line, or one JSON object per line with `--json`), notices and progress on
 * standard error, errors always. Human text carries names and messages from the server, so
 * every line of it is escaped here (`escapeControls`); JSON keeps them as they are.
 */
export class Output {
  constructor(
    private readonly streams: OutputStreams,
    private readonly options: OutputOptions,
  ) {}

  result(human: string, json: Record<string, unknown>): void {
    if (this.options.quiet) return;
    this.streams.stdout.write(this.options.json ? `${JSON.stringify(json)}\n` : `${escapeControls(human)}\n`);
  }

  notice(text: string): void {
    if (!this.options.quiet) this.streams.stderr.write(`${escapeControls(text)}\n`);
  }

  /**
   * One line on standard error naming the subject and the reason; with `--json`, also the
   * failure's own line on standard output, so that a script sees every item it asked for and
   * every failure: `{"error","exit"}` alone when no file is involved (usage, connection, login).
   */
  failure(error: CliError, subject?: Subject): void {
    this.streams.stderr.write(`${escapeControls(`cloudstore: ${subject ? `${subject.label}: ` : ''}${error.message}`)}\n`);
    if (this.streams.env.CLOUDSTORE_DEBUG === '1') this.streams.stderr.write(`${stackOf(error)}\n`);
    if (this.options.json) {
      const line = { ...subject?.fields, error: { code: error.code, message: error.message }, exit: error.exitCode };
      this.streams.stdout.write(`${JSON.stringify(line)}\n`);
    }
  }

  /** A progress bar on standard error, only where someone watches a terminal that can redraw. */
  progress(label: string, total: number | undefined): Progress {
    const wanted = this.options.progress && !this.options.quiet && this.streams.isStderrTTY;
    if (!wanted || this.streams.env.TERM === 'dumb') return NO_PROGRESS;
    return new ProgressBar(this.streams.stderr, escapeControls(label), total, this.streams.now);
  }

  /** Runs `work` with a progress bar that is taken off the terminal however the work ends. */
  async withProgress<T>(label: string, total: number | undefined, work: (progress: Progress) => Promise<T>): Promise<T> {
    const progress = this.progress(label, total);
    try {
      return await work(progress);
    } finally {
      progress.finish();
    }
  }
}

/** The stack of the error at the root of a failure: the one that says where it began. */
function stackOf(error: Error): string {
  let root: unknown = error;
  while (root instanceof Error && root.cause instanceof Error) root = root.cause;
  return (root as Error).stack ?? String(root);
}
