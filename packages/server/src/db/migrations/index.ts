import type { Knex } from 'knex';
import * as accounts from './202611252300_accounts.js';
import * as files from './202611252310_files.js';
import * as ownerKeyOrder from './202611252330_owner_key_order.js';
import * as blobsUnreferenced from './202611260100_blobs_unreferenced.js';
import * as attemptLimits from './202612021000_attempt_limits.js';
import * as serverSecrets from './202612021100_server_secrets.js';
import * as derivedThresholds from './202612021110_derived_thresholds.js';
import * as userUsage from './202612021120_user_usage.js';
import * as exactUsernameKeys from './202612021130_exact_username_keys.js';
import * as sessionsExpiry from './202612021140_sessions_expiry.js';
import * as blobObjects from './202612021200_blob_objects.js';
import * as uploadSlots from './202612030100_upload_slots.js';
import * as resumableUploads from './202612030200_resumable_uploads.js';
import * as contentOwners from './202612030300_content_owners.js';
import * as auditEvents from './202612030301_audit_events.js';
import * as contentScrub from './202612030400_content_scrub.js';

const migrations: Record<string, Knex.Migration> = {
  '202611252300_accounts': accounts,
  '202611252310_files': files,
  '202611252330_owner_key_order': ownerKeyOrder,
  '202611260100_blobs_unreferenced': blobsUnreferenced,
  '202612021000_attempt_limits': attemptLimits,
  '202612021100_server_secrets': serverSecrets,
  '202612021110_derived_thresholds': derivedThresholds,
  '202612021120_user_usage': userUsage,
  '202612021130_exact_username_keys': exactUsernameKeys,
  '202612021140_sessions_expiry': sessionsExpiry,
  '202612021200_blob_objects': blobObjects,
  '202612030100_upload_slots': uploadSlots,
  '202612030200_resumable_uploads': resumableUploads,
  '202612030300_content_owners': contentOwners,
  '202612030301_audit_events': auditEvents,
  '202612030400_content_scrub': contentScrub,
};

/** The migrations, imported explicitly so the compiled server needs no directory scan. */
export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name],
};
