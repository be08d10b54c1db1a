import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import mysql from 'mysql2/promise';
import type { Test } from 'tap';
import { buildApp } from '../../src/app.js';
import type { Config } from '../../src/config.js';

export type DatabaseKind = 'sqlite' | 'mysql';
export const DATABASES: DatabaseKind[] = ['sqlite', 'mysql'];

/** The local MariaDB that the MySQL half of every test runs on. Override with MYSQL_TEST_URL. */
export const MYSQL_SERVER_URL = process.env.MYSQL_TEST_URL ?? 'mysql://root@127.0.0.1:3306';

export interface TestServer {
  kind: DatabaseKind;
  url: string;
  app: FastifyInstance;
  config: Config;
  dataDir: string;
}

/** A database of its own for one test: a temp directory, and on MySQL a fresh database dropped afterwards. */
export async function createTestDatabase(t: Test, kind: DatabaseKind): Promise<Pick<Config, 'dataDir' | 'databaseUrl'>> {
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

export function testConfig(base: Pick<Config, 'dataDir' | 'databaseUrl'>, overrides: Partial<Config> = {}): Config {
  return {
    port: 0,
    listenHost: '127.0.0.1',
    jwtSecret: randomBytes(32).toString('hex'),
    maxUploadBytes: 5 * 1024 ** 3,
    tokenTtlSeconds: 3600,
    dedupThresholdMax: 20,
    cookieSecure: false,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'silent',
    prettyLogs: false,
    trustProxy: false,
    ...base,
    ...overrides,
  };
}

/** Boots the real app on a loopback port, closed when the test ends. */
export async function startServer(t: Test, kind: DatabaseKind, overrides: Partial<Config> = {}): Promise<TestServer> {
  const database = await createTestDatabase(t, kind);
  const config = testConfig(database, overrides);
  const app = await buildApp(config);
  // Registered after the database teardown, so it runs before it (tap runs teardowns in reverse).
  t.teardown(async () => {
    const closing = app.close();
    // The test is over, yet a keep-alive connection whose last response the client has read
    // may not count as idle on the server yet; Fastify would then wait out its 72 s keep-alive.
    app.server.closeAllConnections();
    await closing;
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { kind, url: `http://127.0.0.1:${port}`, app, config, dataDir: config.dataDir };
}

/** Runs `body` once on SQLite and once on MySQL, each as its own subtest. */
export function forEachDatabase(t: Test, body: (t: Test, kind: DatabaseKind) => Promise<void>): void {
  for (const kind of DATABASES) t.test(kind, (sub) => body(sub, kind));
}
