import type { Knex } from 'knex';

/** The sweep of expired sessions (every few minutes) finds them by index, not by reading every session. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sessions', (table) => {
    table.index(['expires_at'], 'sessions_expires_at_index');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sessions', (table) => {
    table.dropIndex(['expires_at'], 'sessions_expires_at_index');
  });
}
