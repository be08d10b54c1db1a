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
 * random name; both removed when the test ends. With `schemaFrom` (the name of a MySQL database
 * on the same server), the new database starts as a copy of that one's tables and rows.
 */
export async function createTestDatabase(t: Teardown, kind: DatabaseKind, schemaFrom?: string): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'cloudstore-test-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  if (kind === 'sqlite') return { dataDir, databaseUrl: null };
  const name = `cloudstore_test_${randomBytes(6).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: MYSQL_SERVER_URL, multipleStatements: true });
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
    t.teardown(async () => {
      const cleanup = await mysql.createConnection(MYSQL_SERVER_URL);
      await cleanup.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await cleanup.end();
    });
    if (schemaFrom !== undefined) await copyTables(admin, schemaFrom, name);
  } finally {
    await admin.end();
  }
  return { dataDir, databaseUrl: `${MYSQL_SERVER_URL}/${name}` };
}

/**
 * Copies every table of database `from` (definition, foreign keys and rows) into the empty `to`:
 * a copy of a migrated database costs a third of running the migrations on MariaDB.
 */
async function copyTables(admin: mysql.Connection, from: string, to: string): Promise<void> {
  const [tables] = await admin.query<mysql.RowDataPacket[]>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE'",
    [from],
  );
  const statements = [`USE \`${to}\``, 'SET FOREIGN_KEY_CHECKS = 0'];
  for (const { name } of tables) {
    const [[definition]] = await admin.query<mysql.RowDataPacket[]>(`SHOW CREATE TABLE \`${from}\`.\`${name}\``);
    statements.push(definition['Create Table'] as string);
  }
  for (const { name } of tables) statements.push(`INSERT INTO \`${to}\`.\`${name}\` SELECT * FROM \`${from}\`.\`${name}\``);
  statements.push('SET FOREIGN_KEY_CHECKS = 1');
  await admin.query(statements.join(';\n'));
}
