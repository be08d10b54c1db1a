import t from 'tap';
import { accountingTests } from './helpers/accounting.js';
import { forEachDatabase, startServer } from './helpers/build-app.js';
import { createBucket, s3StoreConfig, startS3rver } from './helpers/s3-server.js';

// s3rver runs in this process, which slows every request on a loaded machine.
t.setTimeout(600_000);

/** accounting.test.ts's storage shares with BLOB_STORE=s3://… (s3rver): the same rule whatever the store. */
forEachDatabase(t, async (t, kind) => {
  const endpoint = await startS3rver(t);
  const bucket = await createBucket(t, endpoint);
  const server = await startServer(t, kind, { dedupThresholdMax: 1, blobStore: s3StoreConfig(endpoint, bucket) });
  await accountingTests(t, server, false);
});
