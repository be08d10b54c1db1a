import type { Knex } from 'knex';

/**
 * The scrub (services/scrub.ts) re-reads stored content in the background and quarantines what
 * no longer matches its digest. Its progress lives on each blob row, so that a restart resumes
 * where it stopped and several instances share the work:
 * - `scrubbed_at`: when the bytes were last read back and found whole (null: never since stored,
 *   scrubbed first); existing content counts as never scrubbed.
 * - `damaged_at`: set while the bytes do not match (quarantine: not served, not claimable) until
 *   an upload of the same bytes replaces them.
 * - `scrub_lease_until` / `scrub_lease_owner`: one scrubber per content at a time, across instances.
 * - `bytes_generation`: counts the times the bytes were stored anew under the same row (a repair
 *   or a heal), so that a scrub that read the bytes being replaced does not judge the new ones.
 * `verify_requests` counts the re-hashes each user asked for (VERIFY_LIMIT per minute).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('blobs', (table) => {
    table.bigInteger('scrubbed_at').nullable();
    table.bigInteger('damaged_at').nullable();
    table.bigInteger('scrub_lease_until').nullable();
    table.string('scrub_lease_owner', 32).nullable();
    table.integer('bytes_generation').notNullable().defaultTo(0);
    table.index(['scrubbed_at'], 'blobs_scrubbed_at_index');
  });
  await knex.schema.createTable('verify_requests', (table) => {
    table.bigIncrements('id').primary();
    table.integer('user_id').unsigned().notNullable();
    table.bigInteger('requested_at').notNullable();
    table.index(['user_id', 'requested_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('verify_requests');
  await knex.schema.alterTable('blobs', (table) => {
    table.dropIndex(['scrubbed_at'], 'blobs_scrubbed_at_index');
    table.dropColumn('bytes_generation');
    table.dropColumn('scrub_lease_owner');
    table.dropColumn('scrub_lease_until');
    table.dropColumn('damaged_at');
    table.dropColumn('scrubbed_at');
  });
}
