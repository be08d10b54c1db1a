import type { Knex } from 'knex';
import * as accounts from './202611252300_accounts.js';
import * as files from './202611252310_files.js';
import * as ownerKeyOrder from './202611252330_owner_key_order.js';
import * as blobsUnreferenced from './202611260100_blobs_unreferenced.js';
import * as blobObjects from './202612021200_blob_objects.js';

const migrations: Record<string, Knex.Migration> = {
  '202611252300_accounts': accounts,
  '202611252310_files': files,
  '202611252330_owner_key_order': ownerKeyOrder,
  '202611260100_blobs_unreferenced': blobsUnreferenced,
  '202612021200_blob_objects': blobObjects,
};

/** The migrations, imported explicitly so the compiled server needs no directory scan. */
export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name],
};
