import type { Knex } from 'knex';

/**
 * What `/me` reports, kept instead of summed per request (API.md, "Limits, timeouts and
 * housekeeping"). A table of its own, not columns of `users`: inserting a file takes a shared
 * lock on its owner's `users` row (the foreign key), and two uploads of one user that both
 * then asked to update that row would deadlock on MariaDB.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('user_usage', (table) => {
    table.integer('user_id').unsigned().primary().references('users.id').onDelete('CASCADE');
    table.bigInteger('file_count').notNullable();
    table.bigInteger('byte_count').notNullable();
  });
  const sums = knex('users')
    .leftJoin('files', 'files.owner_id', 'users.id')
    .leftJoin('blobs', 'blobs.id', 'files.blob_id')
    .groupBy('users.id')
    .select('users.id', knex.raw('count(files.id)'), knex.raw('coalesce(sum(blobs.size), 0)'));
  await knex.into(knex.raw('?? (??, ??, ??)', ['user_usage', 'user_id', 'file_count', 'byte_count'])).insert(sums);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('user_usage');
}
