import type { Knex } from 'knex';

/**
 * Where each digest's bytes are on an object store (BLOB_STORE=s3://…). An upload streams into
 * an object whose name the server picks before the digest is known; once the bytes are whole
 * and hashed, this row maps the digest to that object, so nothing is copied or renamed after.
 * The file store names its files by digest and never writes here.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('blob_objects', (table) => {
    table.string('sha256', 64).primary();
    table.string('object_name', 255).notNullable().unique();
    table.bigInteger('created_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('blob_objects');
}
