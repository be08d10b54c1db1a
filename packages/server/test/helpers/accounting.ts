import { randomInt } from 'node:crypto';
import type { Knex } from 'knex';
import type { Test } from 'tap';
import { countOwners } from '../../src/db/migrations/202612030300_content_owners.js';
import type { TestServer } from './build-app.js';
import { Client } from './client.js';
import { randomContent } from './content.js';
import { signUp, type Member } from './permits.js';
import { openServerDatabase, referenceProblems } from './storage-state.js';

/** `/me` without the username. */
export interface MeAccounting {
  files: number;
  bytes: number;
  logical_bytes: number;
  stored_bytes: number;
  quota_bytes: number | null;
}

export async function me(member: Member): Promise<MeAccounting> {
  const reply = await member.drive.me();
  if (reply.status !== 200) throw new Error(`/me: ${reply.status} ${JSON.stringify(reply.body)}`);
  const { username: _username, ...accounting } = reply.body;
  return accounting;
}

/**
 * Each user's stored bytes computed afresh from the files table, by the documented rule: each
 * content divided equally among the distinct users owning a file of it, the remainder to the one
 * of lowest id. Also the physical bytes: every content some file points at, once.
 */
async function freshShares(db: Knex): Promise<{ shares: Map<string, number>; physical: number }> {
  const rows: { blob: unknown; size: unknown; owner: unknown; name: unknown }[] = await db('files')
    .join('blobs', 'blobs.id', 'files.blob_id')
    .join('users', 'users.id', 'files.owner_id')
    .distinct('blobs.id as blob', 'blobs.size as size', 'users.id as owner', 'users.username as name');
  const byBlob = new Map<number, { size: number; owners: { id: number; name: string }[] }>();
  for (const row of rows) {
    const entry = byBlob.get(Number(row.blob)) ?? { size: Number(row.size), owners: [] };
    entry.owners.push({ id: Number(row.owner), name: String(row.name) });
    byBlob.set(Number(row.blob), entry);
  }
  const shares = new Map<string, number>();
  let physical = 0;
  for (const { size, owners } of byBlob.values()) {
    physical += size;
    owners.sort((a, b) => a.id - b.id);
    owners.forEach((owner, index) => {
      const share = Math.floor(size / owners.length) + (index === 0 ? size % owners.length : 0);
      shares.set(owner.name, (shares.get(owner.name) ?? 0) + share);
    });
  }
  return { shares, physical };
}

/**
 * Storage divided among the owners of each content, and a random sequence of changes checked
 * against a fresh computation: run on each store. `isFileStore`: the blobs are on disk to check.
 */
export async function accountingTests(t: Test, server: TestServer, isFileStore: boolean): Promise<void> {
  const db = await openServerDatabase(t, server);
  const client = new Client(server.url);
  const [ann, bob, cat, dan] = [
    await signUp(client, 'ann'),
    await signUp(client, 'bob'),
    await signUp(client, 'cat'),
    await signUp(client, 'dan'),
  ];

  t.test('content owned by several users is divided among them, and the shares add up to what is stored', async (t) => {
    const content = randomContent(1001);
    t.equal((await ann.drive.upload('x.bin', content)).status, 201);
    t.match(await me(ann), { files: 1, bytes: 1001, logical_bytes: 1001, stored_bytes: 1001, quota_bytes: null }, 'alone: all of it');
    t.equal((await ann.drive.upload('x-copy.bin', content)).status, 201);
    t.match(await me(ann), { files: 2, logical_bytes: 2002, stored_bytes: 1001 }, 'two files of one content are stored once');
    t.equal((await bob.drive.claimWithProof('x.bin', content)).status, 201);
    t.match(await me(ann), { stored_bytes: 501 }, 'two owners: half each, the odd byte to the first registered');
    t.match(await me(bob), { logical_bytes: 1001, stored_bytes: 500 });
    t.equal((await cat.drive.claimWithProof('mine.bin', content)).status, 201);
    t.same([(await me(ann)).stored_bytes, (await me(bob)).stored_bytes, (await me(cat)).stored_bytes], [335, 333, 333], 'three owners');
    t.equal((await ann.drive.delete('x.bin')).status, 200);
    t.match(await me(ann), { files: 1, stored_bytes: 335 }, 'still an owner through the other file');
    t.equal((await ann.drive.delete('x-copy.bin')).status, 200);
    t.same([(await me(ann)).stored_bytes, (await me(bob)).stored_bytes, (await me(cat)).stored_bytes], [0, 501, 500], 'ann left');
    t.equal((await bob.permits.transfer('x.bin', 'cat')).status, 200);
    t.match(await me(cat), { files: 2, logical_bytes: 2002, stored_bytes: 1001 }, 'cat now owns both files: all of it');
    t.match(await me(bob), { files: 0, logical_bytes: 0, stored_bytes: 0 });
    for (const name of ['x.bin', 'mine.bin']) t.equal((await cat.drive.delete(name)).status, 200);
  });

  t.test('after random uploads, claims, replacements, transfers and deletes, every share equals a fresh computation', async (t) => {
    const members = [ann, bob, cat, dan];
    const contents = Array.from({ length: 5 }, (_, index) => randomContent(997 * (index + 1) + index));
    const owned = new Map<Member, Set<string>>(members.map((member) => [member, new Set()]));
    for (let step = 0; step < 80; step++) {
      const member = members[randomInt(members.length)];
      const names = [...owned.get(member)!];
      const name = names.length > 0 ? names[randomInt(names.length)] : '';
      const action = names.length === 0 ? 0 : randomInt(4);
      if (action === 0) {
        const target = names.length > 0 && randomInt(2) ? name : `f${randomInt(6)}`;
        const content = randomInt(3) ? contents[randomInt(contents.length)] : randomContent(randomInt(1, 3000));
        // As the CLI puts a file: claim by digest, else (404 CONTENT_UNKNOWN) upload the bytes.
        const claimed = randomInt(2) ? await member.drive.claim(target, content) : undefined;
        const reply =
          claimed?.status === 428 ? await member.drive.claimWithProof(target, content) : await member.drive.upload(target, content);
        t.equal(reply.status, 201, `put ${target}`);
        owned.get(member)!.add(target);
      } else if (action === 1) {
        t.equal((await member.drive.delete(name)).status, 200);
        owned.get(member)!.delete(name);
      } else if (action === 2) {
        const other = members.filter((candidate) => candidate !== member)[randomInt(members.length - 1)];
        if ((await other.permits.transfer('nothing', member.name)).status !== 404) t.fail('a stranger cannot transfer');
        if ((await member.permits.transfer(name, other.name)).status === 200) {
          owned.get(member)!.delete(name);
          owned.get(other)!.add(name);
        }
      } else {
        t.equal((await member.drive.upload(name, contents[randomInt(contents.length)])).status, 201, 'replace');
      }
    }
    const { shares, physical } = await freshShares(db);
    let total = 0;
    for (const member of members) {
      const accounting = await me(member);
      t.equal(accounting.stored_bytes, shares.get(member.name) ?? 0, `${member.name}'s stored bytes`);
      t.equal(accounting.logical_bytes, accounting.bytes);
      total += accounting.stored_bytes;
    }
    t.equal(total, physical, 'the shares add up to the physical bytes');
    if (isFileStore) t.same(await referenceProblems(server, db), []);
  });

  t.test("the migration's count of owners, made afresh, gives the same answers", async (t) => {
    const kept = await Promise.all([ann, bob, cat, dan].map(me));
    await db('content_owners').delete();
    await db('blobs').update({ owner_count: 0 });
    await db('user_usage').update({ exclusive_bytes: 0 });
    await countOwners(db);
    t.same(await Promise.all([ann, bob, cat, dan].map(me)), kept);
  });
}
