import type { Knex } from 'knex';

/**
 * A content's disclosure threshold is now derived from its digest under a kept secret
 * (services/disclosure.ts), so that it stays the same when the content is stored again; the
 * threshold drawn for each stored copy goes.
 */
export async function up(knex: Knex): Promise<void> {
  // Both databases drop a plain column in place (SQLite since 3.35); Knex would rebuild the table on SQLite.
  await knex.raw('alter table blobs drop column disclosure_threshold');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('blobs', (table) => {
    table.integer('disclosure_threshold').notNullable().defaultTo(20);
  });
}
