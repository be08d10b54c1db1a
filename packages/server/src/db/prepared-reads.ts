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

class MysqlReads implements PreparedReads {
  constructor(private readonly db: Knex) {}

  async first<Row>(sql: string, bindings: readonly unknown[]): Promise<Row | undefined> {
    const connection = (await this.db.client.acquireConnection()) as MysqlConnection;
    try {
      const rows = await new Promise<Row[]>((resolve, reject) => {
        connection.execute(sql, [...bindings], (error, result) => (error ? reject(error) : resolve(result as Row[])));
      });
      return rows[0];
    } finally {
      await this.db.client.releaseConnection(connection);
    }
  }

  async close(): Promise<void> {
    // The connections are Knex's: they close with it.
  }
}
