import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { MYSQL_SERVER_URL } from '@cloudstore/test-helpers';
import { eventually } from './helpers/waiting.js';

const mainScript = fileURLToPath(new URL('../src/main.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The server binary (under `nodeFlags`) started in an empty folder, its output gathered as it comes; killed at teardown if still running. */
async function spawnServer(t: Test, args: string[], env: Record<string, string>, nodeFlags: string[] = []) {
  const dir = await mkdtemp(path.join(tmpdir(), 'cloudstore-start-'));
  const child = spawn(process.execPath, [...nodeFlags, mainScript, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  t.teardown(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
  });
  const run: Run = { code: null, stdout: '', stderr: '' };
  child.stdout.on('data', (chunk) => (run.stdout += chunk));
  child.stderr.on('data', (chunk) => (run.stderr += chunk));
  return { child, exited, run };
}

/** Runs the server binary (under `nodeFlags`) in an empty folder until it exits, or until `until` matches its stdout. */
async function runServer(
  t: Test,
  args: string[],
  env: Record<string, string> = {},
  until?: RegExp,
  nodeFlags: string[] = [],
): Promise<Run> {
  const { child, exited, run } = await spawnServer(t, args, env, nodeFlags);
  child.stdout.on('data', () => {
    if (until?.test(run.stdout)) child.kill('SIGTERM');
  });
  [run.code] = await exited;
  return run;
}

t.test('--help prints the settings and exits without starting', async (t) => {
  for (const flag of ['--help', '-h']) {
    const run = await runServer(t, [flag]);
    t.equal(run.code, 0, flag);
    for (const setting of ['PORT', 'DATABASE_URL', 'DATA_DIR', 'JWT_SECRET', 'LOG_LEVEL']) t.match(run.stdout, setting);
    t.notMatch(run.stdout, /listening/i, 'it did not start');
  }
});

t.test('--version prints the version', async (t) => {
  const run = await runServer(t, ['--version']);
  t.equal(run.code, 0);
  t.match(run.stdout, /^\d+\.\d+\.\d+\n$/);
});

t.test('an unknown argument is wrong usage, pointing at --help', async (t) => {
  const run = await runServer(t, ['--port=4000']);
  t.equal(run.code, 2);
  t.match(run.stderr, /unknown argument '--port=4000'.*--help/);
  t.equal(run.stdout, '');
});

t.test('a missing MariaDB database is one line naming the fix, no stack trace', async (t) => {
  const run = await runServer(t, [], { DATABASE_URL: `${MYSQL_SERVER_URL}/cloudstore_missing_${process.pid}` });
  t.equal(run.code, 1);
  t.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  t.match(run.stderr, /^cloudstore: cannot start: Unknown database .*CREATE DATABASE/);
  t.notMatch(run.stderr, /\n\s+at /);
});

t.test('the start line names the address, the data directory, the database and the store', async (t) => {
  const run = await runServer(t, [], { LOG_LEVEL: 'info' }, /CloudStore .* serving/);
  const line = run.stdout.split('\n').find((entry) => entry.includes('serving'));
  t.ok(line, 'a start line');
  const entry = JSON.parse(line!) as Record<string, string>;
  t.match(entry.msg, /serving http:\/\/127\.0\.0\.1:\d+ \(data in .+, database SQLite at .+cloudstore\.db, content in .+blobs\)/);
  t.match(entry, { dataDir: /cloudstore-start-/, database: /^SQLite at /, store: /^file at / });
});

t.test("started with V8's flags (node --max-old-space-size=… main.js), the server starts its threads and serves", async (t) => {
  const run = await runServer(t, [], { LOG_LEVEL: 'info' }, /CloudStore .* serving/, [
    '--max-old-space-size=512',
    '--stack-trace-limit=20',
  ]);
  t.match(run.stdout, /CloudStore .* serving/);
  t.notMatch(run.stdout + run.stderr, /cannot start|invalid execArgv/);
});

/** The server binary running with logging at info, and its address once it serves. */
async function startServer(t: Test) {
  const { child, exited, run } = await spawnServer(t, [], { LOG_LEVEL: 'info' });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const match = /serving (http:\/\/[^ ]+)/.exec(run.stdout);
      if (match) resolve(match[1]);
    });
    void exited.then(() => reject(new Error(`the server exited before serving: ${run.stderr}`)));
  });
  return { child, exited, output: run, url };
}

t.test('a request is logged as it completes, with nothing more to come; the shutdown is logged before the exit', async (t) => {
  const { child, exited, output, url } = await startServer(t);
  t.equal((await fetch(`${url}/health`)).status, 200);
  t.ok(await eventually(async () => /"url":"\/health".*"msg":"request completed"/.test(output.stdout), 10_000), 'the request log line');
  child.kill('SIGTERM');
  const [code] = await exited;
  t.equal(code, 0);
  t.match(output.stdout, /shutting down/, 'what it logged on its way out was written before it exited');
});

t.test('a log reader that goes away ends the logging, not the server', async (t) => {
  const { child, exited, output, url } = await startServer(t);
  child.stdout.destroy();
  for (let request = 0; request < 20; request += 1) t.equal((await fetch(`${url}/health`)).status, 200, `request ${request}`);
  child.kill('SIGTERM');
  const [code] = await exited;
  t.equal(code, 0, output.stderr);
  t.equal(output.stderr, '');
});
