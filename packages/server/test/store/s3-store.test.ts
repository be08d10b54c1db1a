import t from 'tap';
import { createBucket, s3Client, startS3rver } from '../helpers/s3-server.js';
import { s3StoreCases } from './s3-store.cases.js';

// Every write waits for the hashing threads to start; on a loaded two-core machine, under tap,
// that alone takes seconds per store, and the contract makes a store per case.
t.setTimeout(600_000);

t.test('s3rver', async (t) => {
  const endpoint = await startS3rver(t);
  s3StoreCases(t, { endpoint, bucket: await createBucket(t, endpoint), client: s3Client(t, endpoint) });
});
