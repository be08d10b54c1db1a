import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
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
  /** Files to remove if the user interrupts the command (spooled input, partial downloads). */
  temporaryFiles: Set<string>;
}

export interface Context extends IO {
  isStdinTTY: boolean;
  isStdoutTTY: boolean;
  isStderrTTY: boolean;
  /** `$XDG_CONFIG_HOME/cloudstore`, else `~/.config/cloudstore`. */
  configDir: string;
  output: Output;
}

export function processIO(): IO {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    now: Date.now,
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
    output: new Output({ stdout: io.stdout, stderr: io.stderr, isStderrTTY, env: io.env, now: io.now }, options),
  };
}

/** The XDG base directory rule: a relative XDG_CONFIG_HOME is invalid and must be ignored. */
function configDirectory(env: IO['env']): string {
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg && isAbsolute(xdg)) return join(xdg, 'cloudstore');
  return join(env.HOME || homedir(), '.config', 'cloudstore');
}
