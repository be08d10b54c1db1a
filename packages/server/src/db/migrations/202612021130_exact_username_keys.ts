import type { Knex } from 'knex';
import { exactCollation } from '../exact-collation.js';

/** Every column that holds a lower-cased username, with its length and nullability. */
const USERNAME_KEY_COLUMNS = [
  { table: 'users', column: 'username_key', type: 'varchar(32)' },
  { table: 'login_failures', column: 'username_key', type: 'varchar(255)' },
  { table: 'file_access', column: 'owner_key', type: 'varchar(32)' },
];

/**
 * Usernames are compared on their lower-cased form byte-exactly (API.md): MariaDB's default
 * collation is accent-insensitive and PAD SPACE, so `alicé` and `alice ` found `alice` there.
 * SQLite compares bytes already.
 */
export async function up(knex: Knex): Promise<void> {
  const collation = await exactCollation(knex);
  if (!collation) return;
  for (const { table, column, type } of USERNAME_KEY_COLUMNS) {
    await knex.raw(`alter table ?? modify ?? ${type} character set utf8mb4 collate ${collation} not null`, [table, column]);
  }
}

export async function down(knex: Knex): Promise<void> {
  if (knex.client.config.client !== 'mysql2') return;
  for (const { table, column, type } of USERNAME_KEY_COLUMNS) {
    const collation = table === 'file_access' ? ' character set utf8mb4 collate utf8mb4_bin' : '';
    await knex.raw(`alter table ?? modify ?? ${type}${collation} not null`, [table, column]);
  }
}
