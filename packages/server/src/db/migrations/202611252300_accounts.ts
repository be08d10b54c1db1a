import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (table) => {
    table.increments('id').primary();
    table.string('username', 32).notNullable();
    // Usernames are unique without regard to case: the lower-cased form carries the index.
    table.string('username_key', 32).notNullable().unique();
    table.string('password_hash', 255).notNullable();
    table.bigInteger('created_at').notNullable();
  });
  await knex.schema.createTable('sessions', (table) => {
    table.string('token_id', 64).primary();
    table.integer('user_id').unsigned().notNullable().references('users.id').onDelete('CASCADE');
    table.bigInteger('expires_at').notNullable();
    table.index(['user_id']);
  });
  await knex.schema.createTable('login_failures', (table) => {
    table.bigIncrements('id').primary();
    table.string('username_key', 255).notNullable();
    table.string('address', 64).notNullable();
    table.bigInteger('failed_at').notNullable();
    table.index(['username_key', 'failed_at']);
    table.index(['address', 'failed_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('login_failures');
  await knex.schema.dropTable('sessions');
  await knex.schema.dropTable('users');
}
