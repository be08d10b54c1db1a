import type { Knex } from 'knex';

/**
 * The garbage sweep (at start-up and every minute) looks for blobs with no reference left;
 * without this index it read the whole blobs table each time, and on SQLite that blocks the
 * event loop for as long as the scan takes.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('blobs', (table) => {
    table.index(['ref_count'], 'blobs_ref_count_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('blobs', (table) => {
    table.dropIndex(['ref_count'], 'blobs_ref_count_index');
  });
}
