import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopwatch } from './measure.js';
import { readMemory } from './proc-stats.js';

/** Servers and commands this harness starts, and stops again whatever happens. */

const running = new Set<ChildProcess>();

// A harness that dies (Ctrl-C, an exception) must not leave servers listening behind it.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface ServerProcess {
  label: string;
  url: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

export interface ServerLaunch {
  label: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr go here: a file costs the server less than a pipe the harness must drain. */
  logFile: string;
  /**
   * How to learn the URL: by default the "Server listening at http://…" line that Fastify prints
   * (and that our baselines and peers print too); or a port to poll, for nginx.
   */
  port?: number;
  timeoutMs?: number;
}

const LISTENING = /Server listening at (http:\/\/[^\s"]+)/;

export async function startServer(launch: ServerLaunch): Promise<ServerProcess> {
  const log = openSync(launch.logFile, 'a');
  // The log may hold an earlier instance's lines (and its dead URL): read only what this one writes.
  const logStart = fstatSync(log).size;
  const child = spawn(launch.command, launch.args, {
    cwd: launch.cwd,
    env: launch.env ?? process.env,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  running.add(child);
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    running.delete(child);
    exited = signal ?? `exit code ${code}`;
  });
  child.once('error', (error) => {
    exited = error.message;
  });

  const deadline = Date.now() + (launch.timeoutMs ?? 60_000);
  let url: string | null = null;
  while (url === null) {
    if (exited !== null) throw new Error(`${launch.label} stopped at start (${exited}): ${tail(launch.logFile)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${launch.label} did not start listening in time: ${tail(launch.logFile)}`);
    }
    if (launch.port !== undefined) {
      if (await accepts(launch.port)) url = `http://127.0.0.1:${launch.port}`;
    } else {
      url = LISTENING.exec(readFileSync(launch.logFile).subarray(logStart).toString('utf8'))?.[1] ?? null;
    }
    if (url === null) await sleep(50);
  }
  return {
    label: launch.label,
    url,
    pid: child.pid!,
    logFile: launch.logFile,
    stop: () => stopChild(child),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  // Unreferenced: a timer left running would hold the harness open 15 s after the last stop.
  const timedOut = await Promise.race([exited.then(() => false), sleep(15_000, undefined, { ref: false }).then(() => true)]);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}

async function accepts(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | ') || '(no output)';
  } catch {
    return '(no output)';
  }
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** From spawn to exit: what a user waits for, process start included. */
  seconds: number;
  /** Highest VmHWM seen while it ran (sampled, so a lower bound of the true peak). */
  peakRssKiB: number | null;
  /** Killed for running past its time limit. */
  isTimedOut: boolean;
}

export interface CommandOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  watchMemory?: boolean;
  timeoutMs?: number;
}

export async function runCommand(command: string, args: string[], options: CommandOptions = {}): Promise<CommandResult> {
  const elapsed = stopwatch();
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk));
  let peakRssKiB: number | null = null;
  const sampler = options.watchMemory
    ? setInterval(() => {
        const memory = readMemory(child.pid!);
        if (memory && Number.isFinite(memory.peakRssKiB)) peakRssKiB = Math.max(peakRssKiB ?? 0, memory.peakRssKiB);
      }, 10)
    : null;
  let isTimedOut = false;
  const timer = setTimeout(() => {
    isTimedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? 600_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolve(exitCode));
  }).finally(() => {
    clearTimeout(timer);
    if (sampler) clearInterval(sampler);
    running.delete(child);
  });
  return {
    code,
    stdout: Buffer.concat(stdout).toString('utf8'),
    stderr: Buffer.concat(stderr).toString('utf8'),
    seconds: elapsed(),
    peakRssKiB,
    isTimedOut,
  };
}

/** Runs a command that must succeed; its error names the command and what it printed. */
export async function mustRun(command: string, args: string[], options: CommandOptions = {}): Promise<CommandResult> {
  const result = await runCommand(command, args, options);
  if (result.isTimedOut) throw new Error(`${command} ${args[0] ?? ''} did not finish in time and was killed`);
  if (result.code !== 0) {
    const output = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' | ');
    throw new Error(`${command} ${args[0] ?? ''} exited ${result.code}: ${output}`);
  }
  return result;
}
