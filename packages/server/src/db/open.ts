import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import knexFactory, { type Knex } from 'knex';
import type { Config } from '../config.js';
import { migrationSource } from './migrations/index.js';

export type Dialect = 'sqlite' | 'mysql';

/** How long a start waits for another instance's migrations (each step may rebuild a large table). */
const MIGRATION_WAIT_MS = 10 * 60_000;
const MIGRATION_RETRY_MS = 250;

/** Opens the configured database (MySQL/MariaDB, else embedded SQLite in WAL mode) and migrates it. */
export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir' | 'logLevel'>): Promise<Knex> {
  const log = driverLog(config.logLevel);
  const db = config.databaseUrl ? mysql(config.databaseUrl, log) : sqlite(config.dataDir, log);
  try {
    await migrate(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return db;
}

/**
 * Brings the schema up to date, also when several instances start at once. On MySQL/MariaDB
 * the instances take turns under a named lock of the server (GET_LOCK, per database; released
 * by the server itself should the holder die): Knex's own lock row refuses a second migrator
 * instead of waiting, and two instances creating Knex's tables on an empty database at once can
 * leave it two lock rows, which lock it for good. Whoever comes second finds nothing left to do.
 * A migrator that does not take the named lock (an older release, `knex migrate`) still holds
 * Knex's lock row: that refusal is waited out too.
 */
async function migrate(db: Knex): Promise<void> {
  if (dialectOf(db) === 'mysql') await underNamedLock(db, () => migrateWaitingForKnexLock(db));
  else await migrateWaitingForKnexLock(db);
}

async function migrateWaitingForKnexLock(db: Knex): Promise<void> {
  const deadline = Date.now() + MIGRATION_WAIT_MS;
  for (;;) {
    try {
      await db.migrate.latest({ migrationSource });
      return;
    } catch (error) {
      // Knex's LockError: "Migration table is already locked".
      if ((error as Error).name !== 'MigrationLocked' || Date.now() > deadline) throw error;
      await sleep(MIGRATION_RETRY_MS);
    }
  }
}

/** Runs `task` holding this database's migration lock, on a connection of its own. */
async function underNamedLock(db: Knex, task: () => Promise<void>): Promise<void> {
  // Lock names are server-wide and at most 64 characters: one per database, by its name's hash.
  const name = "CONCAT('cloudstore migrations ', SHA1(DATABASE()))";
  const connection = await db.client.acquireConnection();
  try {
    const [rows] = await db.raw(`SELECT GET_LOCK(${name}, ?) AS taken`, [MIGRATION_WAIT_MS / 1000]).connection(connection);
    if (Number(rows[0].taken) !== 1) {
      throw new Error(`another instance has been migrating this database for ${MIGRATION_WAIT_MS / 60_000} minutes: is it stuck?`);
    }
    try {
      await task();
    } finally {
      // Should this fail, the connection is gone, and the server released the lock with it.
      await db
        .raw(`SELECT RELEASE_LOCK(${name})`)
        .connection(connection)
        .catch(() => undefined);
    }
  } finally {
    await db.client.releaseConnection(connection);
  }
}

export function dialectOf(db: Knex): Dialect {
  return db.client.config.client === 'mysql2' ? 'mysql' : 'sqlite';
}

/**
 * Knex prints a driver's failures itself (a stack trace per failed connection attempt). The
 * failure reaches the caller as an error anyway, which becomes one line at start-up or a 503 later,
 * so Knex's own output is kept for LOG_LEVEL=debug and trace.
 */
function driverLog(logLevel: string): Knex.Config['log'] {
  const verbose = logLevel === 'debug' || logLevel === 'trace';
  const write = (message: unknown) => {
    if (verbose) process.stderr.write(`knex: ${message instanceof Error ? message.stack : String(message)}\n`);
  };
  return { warn: write, error: write, deprecate: write, debug: write };
}

function mysql(url: string, log: Knex.Config['log']): Knex {
  const parsed = new URL(url);
  return knexFactory({
    client: 'mysql2',
    log,
    connection: {
      host: parsed.hostname,
      port: parsed.port ? Number(parsed.port) : 3306,
      user: decodeURIComponent(parsed.username),
      password: decodeURIComponent(parsed.password),
      database: decodeURIComponent(parsed.pathname.slice(1)),
      charset: 'utf8mb4',
      connectTimeout: 3000,
      supportBigNumbers: true,
    },
    // min 0: a connection lost in an outage is replaced on demand, so the server recovers alone.
    pool: { min: 0, max: 10 },
    acquireConnectionTimeout: 5000,
  });
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * Knex prepares every query anew; on SQLite preparing costs about as much as running a small
 * query. Our queries are few and parameterised, so their statements are kept and reused.
 */
function cachePreparedStatements(connection: BetterSqlite3.Database): void {
  const prepare = connection.prepare.bind(connection);
  const statements = new Map<string, BetterSqlite3.Statement>();
  connection.prepare = ((sql: string) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = prepare(sql);
      if (statements.size < STATEMENT_CACHE_SIZE) statements.set(sql, statement);
    }
    return statement;
  }) as typeof connection.prepare;
}

function sqlite(dataDir: string, log: Knex.Config['log']): Knex {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return knexFactory({
    client: 'better-sqlite3',
    log,
    connection: { filename: path.join(dataDir, 'cloudstore.db') },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      afterCreate: (connection: BetterSqlite3.Database, done: (error: Error | null) => void) => {
        cachePreparedStatements(connection);
        connection.pragma('journal_mode = WAL');
        connection.pragma('busy_timeout = 5000');
        connection.pragma('foreign_keys = ON');
        done(null);
      },
    },
    acquireConnectionTimeout: 10000,
  });
}
