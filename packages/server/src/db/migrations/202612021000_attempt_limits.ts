import type { Knex } from 'knex';

/**
 * Login attempts are counted when they arrive, so two that arrive together must be counted one
 * after the other: `key_locks` holds the rows whose locks serialise them (see window-counts.ts).
 * repositories/window-counts.ts hashes keys onto its 64 rows.
 * `registrations` counts new accounts per client address (REGISTER_LIMIT).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('key_locks', (table) => {
    table.integer('stripe').primary();
    table.bigInteger('locked_at').notNullable();
  });
  await knex('key_locks').insert(Array.from({ length: 64 }, (_, stripe) => ({ stripe, locked_at: 0 })));
  await knex.schema.createTable('registrations', (table) => {
    table.bigIncrements('id').primary();
    table.string('address', 64).notNullable();
    table.bigInteger('registered_at').notNullable();
    table.index(['address', 'registered_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('registrations');
  await knex.schema.dropTable('key_locks');
}
