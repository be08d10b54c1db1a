import type { Knex } from 'knex';

/**
 * Resumable (tus) uploads in progress (API.md, "Resumable upload"). Everything a PATCH needs
 * lives here, so that any instance can take the next one: how many bytes are durable, the
 * SHA-256 state at that point (completion never re-reads the bytes to hash them), and the
 * store's own record of where they are. A PATCH holds the lease while it writes.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('resumable_uploads', (table) => {
    table.string('id', 64).primary();
    table.integer('user_id').unsigned().notNullable().references('users.id').onDelete('CASCADE');
    table.text('filename').notNullable();
    table.string('content_type', 255).notNullable();
    table.string('expected_sha256', 64).nullable();
    // Upload-Metadata as the client sent it: HEAD gives it back.
    table.text('metadata').notNullable();
    table.bigInteger('length').notNullable();
    table.bigInteger('received').notNullable();
    // hash-wasm's saved SHA-256 state at `received`, base64.
    table.text('hash_state').notNullable();
    // Where the store keeps the bytes (an object name): the S3 sweep leaves what is listed here.
    table.string('store_key', 255).notNullable().unique();
    // The store's record (JSON); an S3 upload's list of parts can be long.
    table.specificType('store_state', knex.client.config.client === 'mysql2' ? 'mediumtext' : 'text').notNullable();
    table.bigInteger('created_at').notNullable();
    table.bigInteger('expires_at').notNullable();
    table.string('lease_token', 64).nullable();
    table.bigInteger('lease_until').nullable();
    // Another request for the upload asks the lease's holder to stop (and keep what it has).
    table.boolean('release_requested').notNullable().defaultTo(false);
    table.index(['user_id']);
    table.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('resumable_uploads');
}
