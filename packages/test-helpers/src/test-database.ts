import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';

export type DatabaseKind = 'sqlite' | 'mysql';
export const DATABASES: DatabaseKind[] = ['sqlite', 'mysql'];

/** The local MariaDB that the MySQL half of every test runs on. Override with MYSQL_TEST_URL. */
export const MYSQL_SERVER_URL = process.env.MYSQL_TEST_URL ?? 'mysql://root@127.0.0.1:3306';

/** A tap test, or anything else that runs clean-ups when it ends. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Where a server under test keeps its data: SQLite in `dataDir` when `databaseUrl` is null. */
export interface TestDatabase {
  dataDir: string;
  databaseUrl: string | null;
}

/**
 * A database of its own for one test: a temp directory, and on MySQL a fresh database with a
 * random name; both removed when the test ends.
 */
export async function createTestDatabase(t: Teardown, kind: DatabaseKind): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'cloudstore-test-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  if (kind === 'sqlite') return { dataDir, databaseUrl: null };
  const name = `cloudstore_test_${randomBytes(6).toString('hex')}`;
  const admin = await mysql.createConnection(MYSQL_SERVER_URL);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await admin.end();
  t.teardown(async () => {
    const cleanup = await mysql.createConnection(MYSQL_SERVER_URL);
    await cleanup.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await cleanup.end();
  });
  return { dataDir, databaseUrl: `${MYSQL_SERVER_URL}/${name}` };
}
