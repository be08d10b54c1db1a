import type { Knex } from 'knex';

/**
 * Secrets that every instance must share (API.md, "Storage and several instances"), generated
 * once by whichever instance starts first and kept here. Never returned or logged.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('server_secrets', (table) => {
    table.string('name', 64).primary();
    table.string('value', 255).notNullable();
    table.bigInteger('created_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('server_secrets');
}
