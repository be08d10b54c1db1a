import t from 'tap';
import { startCephRgw } from '../helpers/ceph-rgw.js';
import { createBucket, s3Client } from '../helpers/s3-server.js';
import { s3StoreCases } from './s3-store.cases.js';

// Every write waits for the hashing threads to start; on a loaded two-core machine, under tap,
// that alone takes seconds per store, and the contract makes a store per case.
t.setTimeout(600_000);

t.test('Ceph RGW', async (t) => {
  const endpoint = await startCephRgw(t);
  if ('skip' in endpoint) return t.skip(endpoint.skip, () => {});
  s3StoreCases(t, { endpoint, bucket: await createBucket(t, endpoint), client: s3Client(t, endpoint) });
});
