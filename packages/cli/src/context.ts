import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { setTimeout as wait } from 'node:timers/promises';
import { Output, type OutputOptions } from './terminal/output.js';

/** The options every command accepts, before or after its name (CLI.md, "Global options"). */
export interface GlobalOptions extends OutputOptions {
  server?: string;
}

/** The process as a command sees it; tests and main build it, commands never reach for `process`. */
export interface IO {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  now: () => number;
  /** Waits between retries go through here, so that a test can shorten them (see `retryDelaysMs`). */
  sleep: (milliseconds: number) => Promise<void>;
  /** Files to remove if the user interrupts the command (spooled input, partial downloads). */
  temporaryFiles: Set<string>;
}

export interface Context extends IO {
  isStdinTTY: boolean;
  isStdoutTTY: boolean;
  isStderrTTY: boolean;
  /** `$XDG_CONFIG_HOME/cloudstore`, else `~/.config/cloudstore`. */
  configDir: string;
  /** `$XDG_STATE_HOME/cloudstore`, else `~/.local/state/cloudstore`: what a resumed transfer needs. */
  stateDir: string;
  /** The waits before the 2nd to 5th try of a transfer (CLI.md, "Resumable"): 1, 2, 4 and 8 s. */
  retryDelaysMs: readonly number[];
  /** Files of at least this size go through the resumable upload route (64 MiB). */
  resumableUploadBytes: number;
  output: Output;
}

const RETRY_DELAYS_S = [1, 2, 4, 8];
const RESUMABLE_UPLOAD_BYTES = 64 * 1024 * 1024;

export function processIO(): IO {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    now: Date.now,
    sleep: (milliseconds) => wait(milliseconds),
    temporaryFiles: new Set(),
  };
}

export function createContext(io: IO, options: OutputOptions): Context {
  const isStderrTTY = io.stderr.isTTY === true;
  return {
    ...io,
    isStdinTTY: io.stdin.isTTY === true,
    isStdoutTTY: io.stdout.isTTY === true,
    isStderrTTY,
    configDir: configDirectory(io.env),
    stateDir: stateDirectory(io.env),
    retryDelaysMs: RETRY_DELAYS_S.map((seconds) => seconds * testSetting(io.env.CLOUDSTORE_TEST_RETRY_SECOND_MS, 1000)),
    resumableUploadBytes: testSetting(io.env.CLOUDSTORE_TEST_RESUMABLE_BYTES, RESUMABLE_UPLOAD_BYTES),
    output: new Output({ stdout: io.stdout, stderr: io.stderr, isStderrTTY, env: io.env, now: io.now }, options),
  };
}

/** The XDG base directory rule: a relative XDG_CONFIG_HOME is invalid and must be ignored. */
function configDirectory(env: IO['env']): string {
  return xdgDirectory(env.XDG_CONFIG_HOME, env, ['.config']);
}

function stateDirectory(env: IO['env']): string {
  return xdgDirectory(env.XDG_STATE_HOME, env, ['.local', 'state']);
}

function xdgDirectory(xdg: string | undefined, env: IO['env'], fallback: string[]): string {
  if (xdg && isAbsolute(xdg)) return join(xdg, 'cloudstore');
  return join(env.HOME || homedir(), ...fallback, 'cloudstore');
}

/**
 * Knobs for the test suite only (docs/CLI.md, "Test settings"): a second of retry wait made
 * shorter, a smaller resumable threshold. A value that is not a whole number is ignored.
 */
function testSetting(value: string | undefined, otherwise: number): number {
  const parsed = Number(value);
  return value && Number.isSafeInteger(parsed) && parsed >= 0 ? parsed : otherwise;
}
