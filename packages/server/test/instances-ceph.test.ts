import t from 'tap';
import { startCephRgw } from './helpers/ceph-rgw.js';
import { simultaneousStartCases, twoInstanceCases } from './instances.cases.js';

// instances.test.ts's cases with content on Ceph RGW 16, one cluster for the file; skipped with
// the reason where Ceph is not installed (CONTRIBUTING.md says how to run it).

t.setTimeout(600_000);

t.test('Ceph RGW', async (t) => {
  const endpoint = await startCephRgw(t);
  if ('skip' in endpoint) return t.skip(endpoint.skip, () => {});
  // Each has its own bucket and database: they run at once.
  t.jobs = 2;
  t.test('two instances on MariaDB and S3, every request to the next one in turn', (t) => twoInstanceCases(t, endpoint));
  t.test('server processes started at the same moment on an empty MariaDB database all come up and serve', (t) =>
    simultaneousStartCases(t, endpoint),
  );
});
