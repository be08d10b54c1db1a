import { createHmac, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createTestDatabase } from '@cloudstore/test-helpers';
import t from 'tap';
import { openDatabase } from '../src/db/open.js';
import { UploadSlotRepository } from '../src/repositories/upload-slots.js';
import { startServerOn } from './helpers/build-app.js';
import { Client } from './helpers/client.js';
import { startS3rver } from './helpers/s3-server.js';
import { openServerDatabase } from './helpers/storage-state.js';
import { simultaneousStartCases, tempDir, twoInstanceCases } from './instances.cases.js';

// Several instances on MariaDB, content on s3rver (instances-ceph.test.ts: the same on Ceph RGW).

t.setTimeout(600_000);

t.test('two instances on MariaDB and S3 (s3rver), every request to the next one in turn', async (t) => {
  await twoInstanceCases(t, await startS3rver(t));
});

t.test('upload slots taken at the same instant through two connection pools: never more than the limit', async (t) => {
  const database = await createTestDatabase(t, 'mysql');
  const pools = [await openDatabase({ ...database, logLevel: 'silent' }), await openDatabase({ ...database, logLevel: 'silent' })];
  t.teardown(() => Promise.all(pools.map((pool) => pool.destroy())));
  const repositories = pools.map((pool) => new UploadSlotRepository(pool));
  const limit = 5;
  for (let round = 1; round <= 3; round++) {
    const userId = round;
    const now = Date.now();
    const taken = await Promise.all(
      Array.from({ length: 40 }, (_, index) => repositories[index % 2].take(userId, limit, now, now + 30_000)),
    );
    t.equal(taken.filter((id) => id !== null).length, limit, `round ${round}: ${limit} of 40 granted`);
  }
});

t.test('an existing $DATA_DIR/secret is adopted at the first start on MariaDB: its tokens stay valid', async (t) => {
  const database = await createTestDatabase(t, 'mysql');
  const kept = randomBytes(48).toString('base64url');
  await writeFile(path.join(database.dataDir, 'secret'), `${kept}\n`, { mode: 0o600 });
  const server = await startServerOn(t, 'mysql', database, { jwtSecret: null });
  const db = await openServerDatabase(t, server);
  t.equal((await db('server_secrets').where('name', 'token').first('value')).value, kept, "the database keeps the file's key");
  const client = new Client(server.url);
  const token = await client.user('erin');
  const [header, payload, signature] = token.split('.');
  t.equal(createHmac('sha256', kept).update(`${header}.${payload}`).digest('base64url'), signature, 'tokens are signed with it');
  const other = await startServerOn(t, 'mysql', { ...database, dataDir: await tempDir(t) }, { jwtSecret: null });
  t.equal((await new Client(other.url).call('GET', '/me', { token })).status, 200, 'an instance without the file accepts them');
});

t.test('server processes started at the same moment on an empty MariaDB database (S3 on s3rver) all come up and serve', async (t) => {
  await simultaneousStartCases(t, await startS3rver(t));
});
