import t from 'tap';
import { ROUTES } from '@cloudstore/shared';
import { openDatabase } from '../src/db/open.js';
import { FileRepository } from '../src/repositories/files.js';
import { withStoredBlob } from '../src/scripts/seed.js';
import { forEachDatabase, startServer } from './helpers/build-app.js';
import { Client } from './helpers/client.js';
import { randomContent, sha256Hex } from './helpers/content.js';
import { entryKeys, listingOrder, signUp, type Entry } from './helpers/permits.js';

const SEEDED_CONTENT = Buffer.from('listing test content\n');

/** Whether every entry sorts strictly after the one before it (so no entry repeats). */
function isStrictlyOrdered(entries: Entry[]): boolean {
  return entries.every((entry, index) => index === 0 || listingOrder(entries[index - 1], entry) < 0);
}

forEachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind);
  const client = new Client(server.url);
  const db = await openDatabase(server.config);
  t.teardown(() => db.destroy());

  // Owners whose lower-cased names sort differently by bytes than in MariaDB's default collation.
  const viewer = await signUp(client, 'viewer');
  const owners = await Promise.all(['zed_1', 'zed.1', 'zedA'].map((name) => signUp(client, name)));
  const idOf = async (name: string) => Number((await db('users').where('username_key', name.toLowerCase()).first('id')).id);
  const viewerId = await idOf('viewer');
  const names = (count: number) => Array.from({ length: count }, (_, index) => `file-${String(index).padStart(5, '0')}`);
  const started = Date.now();
  const ownerIds = await Promise.all(owners.map((owner) => idOf(owner.name)));
  await withStoredBlob(db, server.config, SEEDED_CONTENT, async (trx, blobId) => {
    const files = new FileRepository(trx);
    const common = { blobId, contentType: 'text/plain', now: started };
    await files.insertManyFiles({ ...common, ownerId: viewerId, ownerKey: 'viewer', filenames: names(4000) });
    for (const [index, owner] of owners.entries()) {
      const ownerKey = owner.name.toLowerCase();
      await files.insertManyFiles({ ...common, ownerId: ownerIds[index], ownerKey, filenames: names(2000), friendIds: [viewerId] });
    }
  });
  const seeded = [
    ...names(4000).map((filename) => ({ filename, owner: 'viewer' })),
    ...owners.flatMap((owner) => names(2000).map((filename) => ({ filename, owner: owner.name }))),
  ].sort(listingOrder);

  t.test('10 000 files across four owners: every one once, in order, whatever the page size', async (t) => {
    for (const limit of [1000, 337]) {
      const entries = await viewer.permits.listAll(limit);
      t.equal(entries.length, 10_000, `limit ${limit}: 10 000 entries`);
      t.ok(isStrictlyOrdered(entries), `limit ${limit}: strictly ordered, no duplicates`);
      t.same(entryKeys(entries), entryKeys(seeded), `limit ${limit}: no gaps`);
    }
    const first = await viewer.permits.list();
    t.equal(first.body.files.length, 100, 'a page is 100 entries by default');
    t.same(
      first.body.files.slice(0, 4).map((entry: Entry) => [entry.filename, entry.owner, entry.role]),
      [
        ['file-00000', 'viewer', 'owner'],
        ['file-00000', 'zed.1', 'friend'],
        ['file-00000', 'zed_1', 'friend'],
        ['file-00000', 'zedA', 'friend'],
      ],
      'one name from several owners: by the lower-cased owner, bytewise',
    );
    t.same(first.body.files[0], {
      filename: 'file-00000',
      owner: 'viewer',
      role: 'owner',
      size: SEEDED_CONTENT.length,
      sha256: sha256Hex(SEEDED_CONTENT),
      content_type: 'text/plain',
      created_at: new Date(started).toISOString(),
      updated_at: new Date(started).toISOString(),
      damaged: false,
    });
    const seededDownload = await viewer.drive.download('file-00042');
    t.equal(seededDownload.raw.toString(), SEEDED_CONTENT.toString(), 'seeded files download');
  });

  t.test('the order stays stable while files are added', async (t) => {
    let added = 0;
    const entries = await viewer.permits.listAll(750, async () => {
      added++;
      // One name sorts before every page read so far, one after them all.
      for (const filename of [`aaa-added-${added}`, `zzz-added-${added}`]) {
        t.equal((await viewer.drive.upload(filename, randomContent(10))).status, 201);
      }
    });
    t.ok(isStrictlyOrdered(entries), 'strictly ordered, no duplicates');
    const filenames = entries.map((entry) => entry.filename);
    const seen = new Set(entryKeys(entries));
    t.ok(
      entryKeys(seeded).every((key) => seen.has(key)),
      'every file that was there all along is listed',
    );
    t.same(filenames.filter((filename) => filename.startsWith('zzz-added-')).length, added, 'files added ahead of the cursor are listed');
    t.same(
      filenames.filter((filename) => filename.startsWith('aaa-added-')),
      [],
      'files added behind the cursor are not (they are on the next listing)',
    );
    t.ok(added >= 13, 'files were added between pages');
  });

  t.test('limit: default 100, 1 to 1000, anything else is 400', async (t) => {
    t.equal((await viewer.permits.list('?limit=1000')).body.files.length, 1000);
    const one = await viewer.permits.list('?limit=1');
    t.equal(one.body.files.length, 1);
    t.type(one.body.next_cursor, 'string');
    t.equal((await viewer.permits.list('?limit=0100')).body.files.length, 100, 'leading zeros are a whole number too');
    for (const limit of ['', '0', '1001', '5000', '-1', '1.5', 'abc', '1e3', '+10', ' 10', '10 ', '0x10', '99999999999999999999']) {
      const reply = await viewer.permits.list(`?limit=${encodeURIComponent(limit)}`);
      t.equal(reply.status, 400, `limit '${limit}'`);
      t.equal(reply.body.code, 'VALIDATION_FAILED');
    }
    const twice = await viewer.permits.list('?limit=5&limit=6');
    t.equal(twice.status, 400, 'limit given twice');
    const trailingSlashless = await client.call('GET', '/cloud/drive-permit?limit=2', { token: viewer.drive.token });
    t.equal(trailingSlashless.body.files.length, 2, 'without the trailing slash');
  });

  t.test('a cursor the server did not issue is 400', async (t) => {
    const page = await viewer.permits.list('?limit=3');
    const cursor = page.body.next_cursor as string;
    const [payload, mac] = cursor.split('.');
    const forged = Buffer.from(JSON.stringify(['file-01000', 'viewer'])).toString('base64url');
    for (const bad of [
      'garbage',
      '',
      `${forged}.${mac}`,
      `${payload}.`,
      `${payload}.${mac}.x`,
      payload,
      `${payload}.${mac.slice(1)}`,
      'x'.repeat(5000),
    ]) {
      const reply = await viewer.permits.list(`?cursor=${encodeURIComponent(bad)}`);
      t.equal(reply.status, 400, `cursor '${bad.slice(0, 40)}'`);
      t.equal(reply.body.code, 'VALIDATION_FAILED');
    }
    t.equal((await viewer.permits.list(`?cursor=${encodeURIComponent(cursor)}`)).status, 200, 'the genuine cursor works');
  });

  t.test("a cursor from another server's secret is 400", async (t) => {
    const other = await startServer(t, 'sqlite');
    const otherClient = new Client(other.url);
    const someone = await signUp(otherClient, 'someone');
    for (const filename of ['a', 'b']) t.equal((await someone.drive.upload(filename, randomContent(5))).status, 201);
    const foreign = (await someone.permits.list('?limit=1')).body.next_cursor as string;
    t.type(foreign, 'string');
    const reply = await viewer.permits.list(`?cursor=${encodeURIComponent(foreign)}`);
    t.equal(reply.status, 400);
    t.equal(reply.body.code, 'VALIDATION_FAILED');
  });

  t.test('names sort by their bytes, owners by their lower-cased names, the same on both databases', async (t) => {
    const reader = await signUp(client, 'reader');
    const filenames = ['b', 'B', 'a', 'a ', 'a\u00a0', '_', '-', '.x', 'é', 'e\u0301x', '\u{1f600}', '\uffff', '\ue000', 'Z', 'zz', '0'];
    for (const [index, owner] of [viewer, ...owners].entries()) {
      for (const filename of filenames.filter((_, position) => position % 2 === index % 2)) {
        t.equal((await owner.drive.upload(filename, randomContent(3))).status, 201);
        t.equal((await owner.permits.share(filename, 'reader')).status, 201);
      }
    }
    const entries = await reader.permits.listAll(7);
    t.equal(entries.length, filenames.length * 2);
    t.ok(isStrictlyOrdered(entries), 'byte order, then owner key order');
    t.same(
      entries.filter((entry) => entry.filename === 'a').map((entry) => entry.owner),
      ['viewer', 'zed.1'],
    );
  });

  t.test('an empty listing', async (t) => {
    const loner = await signUp(client, 'loner');
    const reply = await client.call('GET', ROUTES.drivePermit, { token: loner.drive.token });
    t.same(reply.body, { files: [], next_cursor: null });
  });
});
