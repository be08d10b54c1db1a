import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';

/** The local MariaDB that our server's second configuration runs on; the tests use the same one. */
export const MARIADB_SERVER_URL = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

/** Null when MariaDB answers, else why not (the MariaDB rows are then skipped with that note). */
export async function mariadbUnavailableReason(): Promise<string | null> {
  try {
    const connection = await mysql.createConnection({ uri: MARIADB_SERVER_URL, connectTimeout: 3000 });
    await connection.end();
    return null;
  } catch (error) {
    return `MariaDB at ${new URL(MARIADB_SERVER_URL).host} is not reachable (${(error as Error).message})`;
  }
}

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A database of its own for one server instance, dropped when the run ends. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `cloudstore_bench_${randomBytes(6).toString('hex')}`;
  const admin = await mysql.createConnection(MARIADB_SERVER_URL);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await admin.end();
  return {
    url: `${MARIADB_SERVER_URL}/${name}`,
    async drop() {
      const connection = await mysql.createConnection(MARIADB_SERVER_URL);
      await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await connection.end();
    },
  };
}

/** mariadbd's pid, to add its own disk writes to ours (null when it is not ours to read). */
export async function mariadbPid(): Promise<number | null> {
  const { readdir, readFile } = await import('node:fs/promises');
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const name = (await readFile(`/proc/${entry}/comm`, 'utf8')).trim();
      if (name === 'mariadbd' || name === 'mysqld') return Number(entry);
    } catch {
      // Gone meanwhile.
    }
  }
  return null;
}
