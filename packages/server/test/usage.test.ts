import { randomInt } from 'node:crypto';
import type { Knex } from 'knex';
import t from 'tap';
import * as userUsage from '../src/db/migrations/202612021120_user_usage.js';
import { countExclusiveBytes } from '../src/db/migrations/202612030300_content_owners.js';
import { ContentOwnerRepository } from '../src/repositories/content-owners.js';
import { FileRepository } from '../src/repositories/files.js';
import { UsageLedger } from '../src/repositories/usage.js';
import { withStoredBlob } from '../src/scripts/seed.js';
import { forEachDatabase, startServer } from './helpers/build-app.js';
import { Client } from './helpers/client.js';
import { randomContent } from './helpers/content.js';
import { signUp, type Member } from './helpers/permits.js';
import { openServerDatabase } from './helpers/storage-state.js';

/** What `/me` should say, summed afresh from the files table. */
async function summed(db: Knex, username: string): Promise<{ files: number; bytes: number }> {
  const row = await db('files')
    .join('users', 'users.id', 'files.owner_id')
    .join('blobs', 'blobs.id', 'files.blob_id')
    .where('users.username_key', username.toLowerCase())
    .count({ files: '*' })
    .sum({ bytes: 'blobs.size' })
    .first();
  return { files: Number(row?.files ?? 0), bytes: Number(row?.bytes ?? 0) };
}

async function me(member: Member): Promise<{ files: number; bytes: number }> {
  const reply = await member.drive.me();
  if (reply.status !== 200) throw new Error(`/me: ${reply.status}`);
  return { files: reply.body.files, bytes: reply.body.bytes };
}

forEachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind);
  const db = await openServerDatabase(t, server);
  const client = new Client(server.url);
  const [ann, bob, cat] = [await signUp(client, 'Ann'), await signUp(client, 'bob'), await signUp(client, 'cat')];

  t.test('each kind of change moves the counts', async (t) => {
    t.same(await me(ann), { files: 0, bytes: 0 }, 'a new account');
    const first = randomContent(100);
    t.equal((await ann.drive.upload('a.bin', first)).status, 201);
    t.same(await me(ann), { files: 1, bytes: 100 }, 'upload');
    t.equal((await ann.drive.upload('a.bin', randomContent(250))).status, 201);
    t.same(await me(ann), { files: 1, bytes: 250 }, 'replace with other content');
    const same = (await ann.drive.download('a.bin')).raw;
    t.equal((await ann.drive.upload('a.bin', same)).body.replaced, true);
    t.same(await me(ann), { files: 1, bytes: 250 }, 'replace with the same content');
    t.equal((await ann.drive.claimWithProof('b.bin', same)).status, 201);
    t.same(await me(ann), { files: 2, bytes: 500 }, 'claim');
    t.equal((await ann.drive.claim('c.bin', first)).status, 404, 'content no longer stored: nothing claimed');
    t.same(await me(ann), { files: 2, bytes: 500 });
    t.equal((await ann.permits.transfer('b.bin', 'bob')).status, 200);
    t.same(await me(ann), { files: 1, bytes: 250 }, 'transfer: the previous owner');
    t.same(await me(bob), { files: 1, bytes: 250 }, 'transfer: the new owner');
    t.equal((await ann.permits.transfer('b.bin', 'cat')).status, 403, 'a friend cannot transfer');
    t.same(await me(bob), { files: 1, bytes: 250 });
    t.equal((await bob.drive.delete('b.bin')).status, 200);
    t.same(await me(bob), { files: 0, bytes: 0 }, 'delete');
    t.equal((await ann.drive.delete('a.bin')).status, 200);
    t.same(await me(ann), { files: 0, bytes: 0 });
  });

  t.test('files the seed inserts in bulk are counted', async (t) => {
    const before = await me(cat);
    const [{ id: catId }] = await db('users').where('username_key', 'cat').select('id');
    const content = Buffer.from('seeded for the usage test\n');
    await withStoredBlob(db, server.config, content, (trx, blobId) =>
      new FileRepository(trx).insertManyFiles({
        ownerId: catId,
        ownerKey: 'cat',
        blobId,
        contentType: 'text/plain',
        filenames: ['s1', 's2', 's3'],
        now: Date.now(),
      }),
    );
    t.same(await me(cat), { files: before.files + 3, bytes: before.bytes + 3 * content.length });
    t.same(await me(cat), await summed(db, 'cat'));
  });

  t.test('after a random sequence of changes, the counts equal a fresh sum', async (t) => {
    const members = [ann, bob, cat];
    const owned = new Map<Member, Set<string>>(members.map((member) => [member, new Set()]));
    const contents = Array.from({ length: 4 }, (_, index) => randomContent(1000 * (index + 1)));
    for (let step = 0; step < 60; step++) {
      const member = members[randomInt(members.length)];
      const names = [...owned.get(member)!];
      // An upload may create or replace; every other change is of a file the member owns.
      const name = names.length > 0 ? names[randomInt(names.length)] : '';
      const action = randomInt(4);
      if (action === 0 || names.length === 0) {
        const target = names.length > 0 && randomInt(2) ? name : `f${randomInt(8)}`;
        const reply = await member.drive.upload(
          target,
          randomInt(2) ? contents[randomInt(contents.length)] : randomContent(randomInt(1, 3000)),
        );
        if (reply.status !== 201) t.fail(`upload: ${reply.status}`);
        owned.get(member)!.add(target);
      } else if (action === 1) {
        if ((await member.drive.delete(name)).status === 200) owned.get(member)!.delete(name);
      } else if (action === 2) {
        const other = members.filter((candidate) => candidate !== member)[randomInt(members.length - 1)];
        if ((await member.permits.transfer(name, other.name)).status === 200) {
          owned.get(member)!.delete(name);
          owned.get(other)!.add(name);
        }
      } else {
        const content = (await member.drive.download(name)).raw;
        const copy = `copy${randomInt(8)}`;
        if ((await member.drive.claimWithProof(copy, content)).status === 201) owned.get(member)!.add(copy);
      }
    }
    for (const member of members) t.same(await me(member), await summed(db, member.name), `${member.name}'s counts`);
  });

  const oneTransactionAtATime = kind === 'sqlite' && 'SQLite runs one transaction at a time';
  t.test('two uploads of new content add their owner rows side by side without deadlocking', { skip: oneTransactionAtATime }, async (t) => {
    const { id: userId } = await db('users').where('username_key', 'ann').first('id');
    const transactions = [await db.transaction(), await db.transaction()];
    t.teardown(() => Promise.all(transactions.map((trx) => trx.rollback())));
    const blobs = await Promise.all(
      transactions.map((trx, index) => new FileRepository(trx).insertBlob(String(index).repeat(64), 10, Date.now())),
    );
    // At once, as two uploads finishing together: on MySQL each used to lock the gap where both
    // rows go (an update that found nothing), then wait on the other's to insert: a deadlock.
    const gains = transactions.map((trx, index) => new ContentOwnerRepository(trx).gain(blobs[index].id, userId, 1, new UsageLedger()));
    t.same(
      (await Promise.allSettled(gains)).map((gain) => (gain.status === 'rejected' ? String(gain.reason) : gain.status)),
      ['fulfilled', 'fulfilled'],
    );
  });

  t.test('the migration counts the files that existed before it', async (t) => {
    const expected = await Promise.all([ann, bob, cat].map((member) => summed(db, member.name)));
    await db.schema.dropTable('user_usage');
    await userUsage.up(db);
    // The later migration's column, as it would have been added after this one.
    await db.schema.alterTable('user_usage', (table) => table.bigInteger('exclusive_bytes').notNullable().defaultTo(0));
    await countExclusiveBytes(db);
    t.same(await Promise.all([ann, bob, cat].map(me)), expected);
  });
});
