import type { Knex } from 'knex';

/**
 * The listing orders by file_access(filename, owner_key) and must give the same order on both
 * databases. SQLite compares owner_key byte by byte; MariaDB compared it in the database's
 * default collation (utf8mb4_general_ci sorts `_` after letters, UCA collations put it before
 * `-`), so its index served another order. A binary collation makes the index's order the
 * byte order. PAD SPACE is harmless here: usernames cannot contain spaces.
 */
export async function up(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'mysql2') return;
  await knex.raw('alter table file_access modify owner_key varchar(32) character set utf8mb4 collate utf8mb4_bin not null');
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'mysql2') return;
  await knex.raw('alter table file_access modify owner_key varchar(32) not null');
}
