import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type DatabaseKind, type Teardown } from '@cloudstore/test-helpers';

export type { DatabaseKind };

/** Resolved, never imported: the server runs as its own process, as users run it. */
const SERVER_MAIN = fileURLToPath(import.meta.resolve('@cloudstore/server/main'));
const LISTENING = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/;

/**
 * The environment that puts the server on `kind`, in a data directory of its own: SQLite in
 * it, or a fresh MariaDB database with a random name, dropped when the test ends.
 */
export async function databaseEnv(t: Teardown, kind: DatabaseKind): Promise<Record<string, string>> {
  const { dataDir, databaseUrl } = await createTestDatabase(t, kind);
  return databaseUrl === null ? { DATA_DIR: dataDir } : { DATA_DIR: dataDir, DATABASE_URL: databaseUrl };
}

export interface RunningServer {
  url: string;
  port: number;
}

/**
 * The real server, as its own process on a free port with an empty data directory: the CLI
 * is tested as users run it, and it never imports the server.
 */
export async function startServer(t: Teardown, env: Record<string, string> = {}): Promise<RunningServer> {
  const database = env.DATA_DIR === undefined ? await databaseEnv(t, 'sqlite') : {};
  const child = spawn(process.execPath, [SERVER_MAIN], {
    // REGISTER_LIMIT=0: a test file registers more users from 127.0.0.1 than the default 10 an hour.
    env: { PATH: process.env.PATH, PORT: '0', LOG_LEVEL: 'info', REGISTER_LIMIT: '0', ...database, ...env },
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
