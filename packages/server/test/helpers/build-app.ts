import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createTestDatabase, DATABASES, type DatabaseKind, type TestDatabase } from '@cloudstore/test-helpers';
import type { FastifyInstance } from 'fastify';
import tap, { type Test } from 'tap';
import { buildApp } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import { openDatabase } from '../../src/db/open.js';

export interface TestServer {
  kind: DatabaseKind;
  url: string;
  app: FastifyInstance;
  config: Config;
  dataDir: string;
}

export function testConfig(base: TestDatabase, overrides: Partial<Config> = {}): Config {
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
    registration: 'open',
    registerLimit: 0,
    hashConcurrency: 2,
    // Argon2id at 1 MiB and 1 pass: tests make many accounts. Tests of hashing itself use PASSWORD_HASH_COST.
    passwordHashCost: { memoryKiB: 1024, passes: 1 },
    headersTimeoutMs: 30_000,
    requestTimeoutMs: 30_000,
    bodyIdleTimeoutMs: 60_000,
    uploadsPerUser: 64,
    uploadSlotLeaseMs: 30_000,
    // No background scrub unless a test turns it on; no limit on verifications.
    scrubBytesPerSecond: 0,
    scrubIntervalMs: 30 * 24 * 3600 * 1000,
    verifyLimit: 0,
    ...base,
    ...overrides,
  };
}

/** Boots the real app on a loopback port, closed when the test ends. */
export async function startServer(t: Test, kind: DatabaseKind, overrides: Partial<Config> = {}): Promise<TestServer> {
  const schemaFrom = kind === 'mysql' ? await migratedTemplate() : undefined;
  return startServerOn(t, kind, await createTestDatabase(t, kind, schemaFrom), overrides);
}

let template: Promise<string> | null = null;

/**
 * A MySQL database migrated once per test file, which startServer's databases start as copies
 * of: running the migrations costs about a second on MariaDB, each of a file's dozens of
 * servers would pay it. Tests of the migrations themselves use createTestDatabase and run them.
 */
function migratedTemplate(): Promise<string> {
  template ??= (async () => {
    const database = await createTestDatabase(tap, 'mysql');
    const db = await openDatabase({ ...database, logLevel: 'silent' });
    await db.destroy();
    return new URL(database.databaseUrl!).pathname.slice(1);
  })();
  return template;
}

/** Boots the real app on a database the test made (and may have used before) with createTestDatabase. */
export async function startServerOn(
  t: Test,
  kind: DatabaseKind,
  database: Pick<Config, 'dataDir' | 'databaseUrl'>,
  overrides: Partial<Config> = {},
): Promise<TestServer> {
  return boot(t, kind, testConfig(database, overrides));
}

/** Builds the app on `config`, listens on a loopback port, and closes it when the test ends. */
async function boot(t: Test, kind: DatabaseKind, config: Config): Promise<TestServer> {
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

type DatabaseBody = (t: Test, kind: DatabaseKind) => Promise<void>;

export interface ForEachDatabaseOptions {
  /**
   * Run the SQLite half, then the MySQL half. For tests that measure time (medians, floods): the
   * other half would be load on the measured one. Others run both halves at once.
   */
  oneAtATime?: boolean;
}

/**
 * Runs `body` once on SQLite and once on MySQL, each as its own subtest with its own server and
 * database. The two halves share nothing, so they run at the same time (most of a test's time is
 * waiting: for the database, the disk, a deadline) unless `oneAtATime` is set. This raises the
 * parent's `jobs`, so the file's other top-level tests may run beside them too: keep them
 * independent (their own server, their own database). The setting is per file: one call with
 * `oneAtATime` needs it on every call of the file.
 */
export function forEachDatabase(t: Test, body: DatabaseBody): void;
export function forEachDatabase(t: Test, options: ForEachDatabaseOptions, body: DatabaseBody): void;
export function forEachDatabase(t: Test, ...args: [DatabaseBody] | [ForEachDatabaseOptions, DatabaseBody]): void {
  const [options, body] = args.length === 1 ? [{}, args[0]] : args;
  if (!options.oneAtATime) t.jobs = Math.max(t.jobs, DATABASES.length);
  for (const kind of DATABASES) t.test(kind, (sub) => body(sub, kind));
}

/** A second app on the same data directory and database (the first may be closed or not): a restart. */
export async function restartServer(t: Test, server: TestServer, overrides: Partial<Config> = {}): Promise<TestServer> {
  return boot(t, server.kind, { ...server.config, ...overrides });
}
