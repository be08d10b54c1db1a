import type { Knex } from 'knex';

/**
 * The audit trail (docs/API.md, "Audit trail"): append-only; only the retention sweep deletes.
 * Each event is shown to the users it concerns, one `audit_viewers` row each (its actor, the
 * account it names, the file's owner at the time), so that a user's page walks one index range.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('audit_events', (table) => {
    table.bigIncrements('id').primary();
    table.bigInteger('at').notNullable();
    table.string('action', 16).notNullable();
    table.integer('actor_id').unsigned().nullable().references('users.id');
    table.integer('target_id').unsigned().nullable().references('users.id');
    table.integer('owner_id').unsigned().nullable().references('users.id');
    table.string('filename', 255).nullable();
    table.string('address', 64).nullable();
    table.index(['at']);
  });
  await knex.schema.createTable('audit_viewers', (table) => {
    table.integer('user_id').unsigned().notNullable().references('users.id');
    table.bigInteger('event_id').unsigned().notNullable().references('audit_events.id').onDelete('CASCADE');
    table.primary(['user_id', 'event_id']);
    table.index(['event_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('audit_viewers');
  await knex.schema.dropTable('audit_events');
}
