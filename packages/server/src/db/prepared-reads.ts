import BetterSqlite3 from 'better-sqlite3';
import type { Knex } from 'knex';
import { dialectOf } from './open.js';

/**
 * The reads that nearly every request makes (the session behind its token, the file it names),
 * as SQL texts fixed in the code, prepared once and run without Knex: building a query with Knex
 * cost about as much as running it, a large share of a small download.
 *
 * On SQLite they run on a connection of their own, so that they neither queue for Knex's single
 * connection nor see a transaction in progress on it; in WAL mode each statement reads what was
 * last committed (a logout is seen by the next request). On MySQL/MariaDB they run on a connection
 * of Knex's pool as server-side prepared statements, which mysql2 keeps per connection.
 */
export interface PreparedReads {
  /** The first row `sql` selects with `bindings`, or undefined. */
  first<Row>(sql: string, bindings: readonly unknown[]): Promise<Row | undefined>;
  close(): Promise<void>;
}

const SQLITE_BUSY_TIMEOUT_MS = 5000;

export function openPreparedReads(db: Knex): PreparedReads {
  if (dialectOf(db) === 'mysql') return new MysqlReads(db);
  return new SqliteReads((db.client.config.connection as { filename: string }).filename);
}

class SqliteReads implements PreparedReads {
  private connection: BetterSqlite3.Database | null = null;
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  constructor(private readonly filename: string) {}

  async first<Row>(sql: string, bindings: readonly unknown[]): Promise<Row | undefined> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.open().prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement.get(...bindings) as Row | undefined;
  }

  /** Opened at the first read, long after Knex's connection migrated the database and made it WAL (which the file keeps). */
  private open(): BetterSqlite3.Database {
    if (!this.connection) {
      this.connection = new BetterSqlite3(this.filename, { fileMustExist: true });
      this.connection.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    }
    return this.connection;
  }

  async close(): Promise<void> {
    this.connection?.close();
    this.connection = null;
    this.statements.clear();
  }
}

/** The callback API of mysql2's connections, as Knex's pool hands them out. */
interface MysqlConnection {
  execute(sql: string, values: unknown[], callback: (error: Error | null, rows: unknown) => void): void;
}

/** Reads of one SQL text asked together go as one statement of at most this many. */
const MAX_BATCH = 16;
/** The column that says which read of a batch a row answers (select lists of ours never use it). */
const SLOT_COLUMN = 'batch_slot';

interface Waiting {
  bindings: readonly unknown[];
  resolve(row: unknown): void;
  reject(error: unknown): void;
}

/**
 * On MySQL/MariaDB, the reads of one SQL text that requests ask in the same turn of the event
 * loop (those read from their sockets together) go as one statement (`batchSql`), each row of its
 * result naming the read it answers: one round trip, one write and one result for all of them.
 * Each read still runs when asked, against what is committed then (nothing is cached), and a
 * single read goes alone as its own statement. Measured on a small download under load
 * (issue 18): the statement's write to the database's socket took a quarter of the request thread.
 */
class MysqlReads implements PreparedReads {
  private queued = new Map<string, Waiting[]>();
  private isScheduled = false;

  constructor(private readonly db: Knex) {}

  first<Row>(sql: string, bindings: readonly unknown[]): Promise<Row | undefined> {
    return new Promise((resolve, reject) => {
      const group = this.queued.get(sql);
      const waiting: Waiting = { bindings, resolve: resolve as (row: unknown) => void, reject };
      if (group) group.push(waiting);
      else this.queued.set(sql, [waiting]);
      if (this.isScheduled) return;
      this.isScheduled = true;
      setImmediate(() => this.sendQueued());
    });
  }

  private sendQueued(): void {
    this.isScheduled = false;
    const groups = this.queued;
    this.queued = new Map();
    for (const [sql, group] of groups) {
      for (let start = 0; start < group.length; start += MAX_BATCH) void this.send(sql, group.slice(start, start + MAX_BATCH));
    }
  }

  private async send(sql: string, batch: Waiting[]): Promise<void> {
    try {
      if (batch.length === 1) return batch[0].resolve((await this.execute(sql, batch[0].bindings))[0]);
      const rows = await this.execute(
        batchSql(sql, batch.length),
        batch.flatMap((waiting) => waiting.bindings),
      );
      const firsts: unknown[] = [];
      for (const row of rows) {
        const slot = Number(row[SLOT_COLUMN]);
        delete row[SLOT_COLUMN];
        firsts[slot] ??= row;
      }
      batch.forEach((waiting, slot) => waiting.resolve(firsts[slot]));
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }

  private async execute(sql: string, bindings: readonly unknown[]): Promise<Record<string, unknown>[]> {
    const connection = (await this.db.client.acquireConnection()) as MysqlConnection;
    try {
      return await new Promise<Record<string, unknown>[]>((resolve, reject) => {
        connection.execute(sql, [...bindings], (error, rows) => (error ? reject(error) : resolve(rows as Record<string, unknown>[])));
      });
    } finally {
      await this.db.client.releaseConnection(connection);
    }
  }

  async close(): Promise<void> {
    // The connections are Knex's: they close with it.
  }
}

const batchTexts = new Map<string, string>();

/**
 * The read `sql` (`select … from … limit 1`, finding at most one row by a unique key) for `count`
 * sets of bindings, as one statement: the bindings are the rows of a derived table, each naming
 * its slot, joined first (`straight_join`: the optimizer, counting few rows in a table, would
 * otherwise scan it and look the bindings up) so that each read is the lookups it was alone.
 * Measured against `(read 0) union all (read 1) …` (issue 18): 10–16 µs of mariadbd per read in
 * a statement of 8 to 16 instead of 20–44, as every part of a union was planned and run apart.
 */
function batchSql(sql: string, count: number): string {
  const key = `${count}:${sql}`;
  let text = batchTexts.get(key);
  if (!text) {
    const shape = /^select (.+?) from (.+) limit 1$/is.exec(sql);
    if (!shape) throw new Error(`not a select … limit 1: ${sql}`);
    let parameterCount = 0;
    const named = (part: string) => part.replace(/\?/g, () => `batch.v${parameterCount++}`);
    const [columns, tables] = [named(shape[1]), named(shape[2])];
    const names = Array.from({ length: parameterCount }, (_, index) => `? as v${index}`).join(', ');
    const rows = Array.from({ length: count }, (_, slot) => `select ${slot} as ${SLOT_COLUMN}, ${names}`).join(' union all ');
    text = `select straight_join batch.${SLOT_COLUMN} as ${SLOT_COLUMN}, ${columns} from (${rows}) batch join ${tables}`;
    batchTexts.set(key, text);
  }
  return text;
}
