import type { Knex } from 'knex';

/**
 * Uploads in flight, one row each, so that UPLOADS_PER_USER holds across every instance
 * (services/upload-slots.ts). A row counts while its lease runs: the instance serving the upload
 * renews it, so an instance that dies gives its slots back once their leases run out.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('upload_slots', (table) => {
    table.increments('id');
    table.integer('user_id').unsigned().notNullable();
    table.bigInteger('lease_until').notNullable();
    table.index(['user_id', 'lease_until']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('upload_slots');
}
