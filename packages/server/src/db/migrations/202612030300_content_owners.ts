import type { Knex } from 'knex';

/**
 * Who owns each content, for `stored_bytes` (docs/API.md, "Accounting"): one row per (content,
 * user owning at least one file of it) with how many such files, `blobs.owner_count` (rows per
 * content), and `user_usage.exclusive_bytes` (the contents the user alone owns, whole). A content
 * with several owners is divided among them at read time, over the user's co-owned contents only
 * (`is_shared`, indexed), so that `/me` never reads a user's sole-owned files one by one.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('content_owners', (table) => {
    table.bigInteger('blob_id').unsigned().notNullable().references('blobs.id').onDelete('CASCADE');
    table.integer('user_id').unsigned().notNullable().references('users.id');
    table.bigInteger('file_count').notNullable();
    table.boolean('is_shared').notNullable().defaultTo(false);
    table.primary(['blob_id', 'user_id']);
    table.index(['user_id', 'is_shared', 'blob_id']);
  });
  await knex.schema.alterTable('blobs', (table) => {
    table.integer('owner_count').notNullable().defaultTo(0);
  });
  await knex.schema.alterTable('user_usage', (table) => {
    table.bigInteger('exclusive_bytes').notNullable().defaultTo(0);
  });
  await countOwners(knex);
}

/** Fills `content_owners`, `blobs.owner_count` and `user_usage.exclusive_bytes` from the files (empty before). */
export async function countOwners(knex: Knex): Promise<void> {
  const owners = knex('files').groupBy('blob_id', 'owner_id').select('blob_id', 'owner_id', knex.raw('count(*)'));
  await knex.into(knex.raw('?? (??, ??, ??)', ['content_owners', 'blob_id', 'user_id', 'file_count'])).insert(owners);
  await knex('blobs').update({
    owner_count: knex('content_owners').count('*').where('content_owners.blob_id', knex.ref('blobs.id')),
  });
  await knex('content_owners')
    .whereIn('blob_id', knex('blobs').select('id').where('owner_count', '>=', 2))
    .update({ is_shared: true });
  await countExclusiveBytes(knex);
}

/** Fills `user_usage.exclusive_bytes` from `content_owners` (also for tests that rebuild user_usage). */
export async function countExclusiveBytes(knex: Knex): Promise<void> {
  await knex('user_usage').update({
    exclusive_bytes: knex('content_owners')
      .join('blobs', 'blobs.id', 'content_owners.blob_id')
      .where('content_owners.user_id', knex.ref('user_usage.user_id'))
      .andWhere('blobs.owner_count', 1)
      .select(knex.raw('coalesce(sum(blobs.size), 0)')),
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('user_usage', (table) => table.dropColumn('exclusive_bytes'));
  await knex.schema.alterTable('blobs', (table) => table.dropColumn('owner_count'));
  await knex.schema.dropTable('content_owners');
}
