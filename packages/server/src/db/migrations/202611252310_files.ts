import type { Knex } from 'knex';
import { exactCollation } from '../exact-collation.js';

/** Filenames compare byte-exactly on both databases (API.md, "Names"). */
async function exactTextType(knex: Knex): Promise<string> {
  const collation = await exactCollation(knex);
  return collation ? `varchar(255) character set utf8mb4 collate ${collation}` : 'varchar(255)';
}

export async function up(knex: Knex): Promise<void> {
  const exactText = await exactTextType(knex);
  await knex.schema.createTable('blobs', (table) => {
    table.bigIncrements('id').primary();
    table.string('sha256', 64).notNullable().unique();
    table.bigInteger('size').notNullable();
    // Files that point at this content; the blob is removed from storage when it reaches 0.
    table.integer('ref_count').notNullable();
    // Existence privacy: owners needed before strangers may learn the content is stored. Secret.
    table.integer('disclosure_threshold').notNullable();
    table.bigInteger('created_at').notNullable();
  });
  await knex.schema.createTable('files', (table) => {
    table.bigIncrements('id').primary();
    table.integer('owner_id').unsigned().notNullable().references('users.id');
    table.specificType('filename', `${exactText} not null`);
    table.bigInteger('blob_id').unsigned().notNullable().references('blobs.id');
    table.string('content_type', 255).notNullable();
    table.bigInteger('created_at').notNullable();
    table.bigInteger('updated_at').notNullable();
    table.unique(['owner_id', 'filename']);
    table.index(['blob_id', 'owner_id']);
  });
  // One row per reader of a file, the owner included: the listing walks one index in its order.
  await knex.schema.createTable('file_access', (table) => {
    table.bigInteger('file_id').unsigned().notNullable().references('files.id').onDelete('CASCADE');
    table.integer('user_id').unsigned().notNullable().references('users.id');
    table.string('role', 8).notNullable();
    table.specificType('filename', `${exactText} not null`);
    // The owner's lower-cased username: the listing's second sort key.
    table.string('owner_key', 32).notNullable();
    table.bigInteger('since').notNullable();
    table.primary(['file_id', 'user_id']);
    table.index(['user_id', 'filename', 'owner_key']);
  });
  await knex.schema.createTable('challenges', (table) => {
    table.string('nonce', 64).primary();
    table.integer('user_id').unsigned().notNullable();
    table.string('sha256', 64).notNullable();
    table.bigInteger('size').notNullable();
    table.text('ranges').notNullable();
    table.bigInteger('expires_at').notNullable();
    table.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('challenges');
  await knex.schema.dropTable('file_access');
  await knex.schema.dropTable('files');
  await knex.schema.dropTable('blobs');
}
