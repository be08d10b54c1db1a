import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI_BIN = fileURLToPath(new URL('../../../bin/cloudstore.js', import.meta.url));
export const PASSWORD = 'correct horse battery staple';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Standard output as bytes, for files written with `-o -`. */
  stdoutBytes: Buffer;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: Record<string, string | undefined>;
  cwd?: string;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/**
 * One person at one machine: a fresh home and config directory (so the credentials file is
 * theirs alone), no keychain, and the CLI run as a subprocess exactly as a shell runs it.
 */
export class CliUser {
  private constructor(
    readonly home: string,
    readonly server: string,
    readonly username: string,
  ) {}

  static async create(t: Teardown, server: string, username: string): Promise<CliUser> {
    const home = await mkdtemp(join(tmpdir(), 'cloudstore-cli-home-'));
    t.teardown(() => rm(home, { recursive: true, force: true }));
    return new CliUser(home, server, username);
  }

  /** A user who has registered (and so logged in) through the CLI. */
  static async registered(t: Teardown, server: string, username: string): Promise<CliUser> {
    const user = await CliUser.create(t, server, username);
    const result = await user.run(['register', username, '--password-stdin'], { input: `${PASSWORD}\n` });
    if (result.code !== 0) throw new Error(`register ${username} failed: ${result.stderr}`);
    return user;
  }

  /** Several registered users, one after the other (registration is deliberately slow). */
  static async registeredAll(t: Teardown, server: string, ...usernames: string[]): Promise<CliUser[]> {
    const users: CliUser[] = [];
    for (const username of usernames) users.push(await CliUser.registered(t, server, username));
    return users;
  }

  /** Writes a file in the user's home and puts it; a failure fails the test's setup. */
  async upload(filename: string, content: string | Buffer): Promise<void> {
    await writeFile(join(this.home, filename), content);
    const put = await this.run(['put', filename]);
    if (put.code !== 0) throw new Error(`put ${filename} failed: ${put.stderr}`);
  }

  get configDir(): string {
    return join(this.home, '.config', 'cloudstore');
  }

  /** The token saved at login, for runs through a proxy (another origin) as CLOUDSTORE_TOKEN. */
  async token(): Promise<string> {
    const saved = JSON.parse(await readFile(join(this.configDir, 'credentials.json'), 'utf8')) as {
      sessions: Record<string, { token: string }>;
    };
    return saved.sessions[this.server].token;
  }

  /** Runs through another front door (a proxy) with this user's session. */
  async runVia(url: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
    return (await this.startVia(url, args, options)).result;
  }

  environment(extra: Record<string, string | undefined> = {}): Record<string, string> {
    const env: Record<string, string | undefined> = {
      PATH: process.env.PATH,
      HOME: this.home,
      XDG_CONFIG_HOME: join(this.home, '.config'),
      CLOUDSTORE_SERVER: this.server,
      ...extra,
    };
    return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  }

  run(args: string[], options: RunOptions = {}): Promise<RunResult> {
    return this.start(args, options).result;
  }

  /** Starts the CLI and hands back the process too, for a test that interrupts it (Ctrl-C is SIGINT). */
  start(args: string[], options: RunOptions = {}): { child: ChildProcess; result: Promise<RunResult> } {
    const child = spawn(process.execPath, [CLI_BIN, ...args], {
      cwd: options.cwd ?? this.home,
      env: this.environment(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.end(options.input ?? '');
    const result = new Promise<RunResult>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => {
        const stdoutBytes = Buffer.concat(stdout);
        resolve({ code, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), stdoutBytes });
      });
    });
    return { child, result };
  }

  /** Like `runVia`, started: for a run through a proxy that the test interrupts. */
  async startVia(url: string, args: string[], options: RunOptions = {}): Promise<{ child: ChildProcess; result: Promise<RunResult> }> {
    return this.start(args, { ...options, env: { CLOUDSTORE_SERVER: url, CLOUDSTORE_TOKEN: await this.token(), ...options.env } });
  }
}

const shellQuote = (word: string) => `'${word.replaceAll("'", "'\\''")}'`;

export interface TerminalResult {
  code: number | null;
  /** Everything the terminal showed: standard output and standard error together. */
  output: string;
}

/**
 * Runs the CLI under a pseudo-terminal (`script`), as when a person types the command:
 * stdin, stdout and stderr are all the terminal. Each answer is typed once its prompt shows.
 */
export function runInTerminal(user: CliUser, args: string[], answers: [prompt: string, answer: string][] = []): Promise<TerminalResult> {
  const command = [process.execPath, CLI_BIN, ...args].map(shellQuote).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: user.home,
    env: user.environment(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const pending = [...answers];
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    const next = pending[0];
    if (next && output.includes(next[0])) {
      pending.shift();
      child.stdin.write(next[1]);
    }
  });
  child.stderr.resume();
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

/** The NDJSON lines of a `--json` run, each parsed. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
