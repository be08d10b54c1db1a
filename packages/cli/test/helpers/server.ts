import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';

const SERVER_MAIN = fileURLToPath(new URL('../../../../server/dist/src/main.js', import.meta.url));
const LISTENING = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/;

/** The local MariaDB, as the server's tests use it; override with MYSQL_TEST_URL. */
const MYSQL_SERVER_URL = process.env.MYSQL_TEST_URL ?? 'mysql://root@127.0.0.1:3306';

export type DatabaseKind = 'sqlite' | 'mysql';

/**
 * The environment that puts the server on `kind`: SQLite in its data directory, or a fresh
 * MariaDB database with a random name, dropped when the test ends.
 */
export async function databaseEnv(t: Teardown, kind: DatabaseKind): Promise<Record<string, string>> {
  if (kind === 'sqlite') return {};
  const name = `cloudstore_cli_${randomBytes(6).toString('hex')}`;
  const admin = await mysql.createConnection(MYSQL_SERVER_URL);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await admin.end();
  t.teardown(async () => {
    const cleanup = await mysql.createConnection(MYSQL_SERVER_URL);
    await cleanup.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await cleanup.end();
  });
  return { DATABASE_URL: `${MYSQL_SERVER_URL}/${name}` };
}

export interface RunningServer {
  url: string;
  port: number;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/**
 * The real server, as its own process on a free port with an empty data directory: the CLI
 * is tested as users run it, and it never imports the server.
 */
export async function startServer(t: Teardown, env: Record<string, string> = {}): Promise<RunningServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'cloudstore-cli-server-'));
  const child = spawn(process.execPath, [SERVER_MAIN], {
    // REGISTER_LIMIT=0: a test file registers more users from 127.0.0.1 than the default 10 an hour.
    env: { PATH: process.env.PATH, PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'info', REGISTER_LIMIT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Kept for the error below; Fastify's deprecation warnings would only clutter the test report.
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
  t.teardown(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  });
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const match = LISTENING.exec(line);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`the server exited with code ${code} before listening: ${errors}`)));
  });
  return { url, port: Number(new URL(url).port) };
}
