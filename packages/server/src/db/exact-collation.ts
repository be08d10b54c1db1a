import type { Knex } from 'knex';

/**
 * The MariaDB/MySQL collation that compares text byte by byte, trailing spaces included: a NO PAD
 * binary collation (utf8mb4_bin ignores trailing spaces, so 'alice ' = 'alice' in it). SQLite's
 * default BINARY collation already compares so; there this returns null.
 */
export async function exactCollation(knex: Knex): Promise<string | null> {
  if (knex.client.config.client !== 'mysql2') return null;
  const [rows] = await knex.raw("SHOW COLLATION WHERE Collation IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')");
  const names = (rows as { Collation: string }[]).map((row) => row.Collation);
  return names.includes('utf8mb4_nopad_bin') ? 'utf8mb4_nopad_bin' : 'utf8mb4_0900_bin';
}
