import t, { type Test } from 'tap';
import { ROUTES } from '@cloudstore/shared';
import { forEachDatabase, startServer } from './helpers/build-app.js';
import { Client, type Reply } from './helpers/client.js';
import { randomContent, sha256Hex } from './helpers/content.js';
import { signUp, type Entry, type Member } from './helpers/permits.js';

/** The caller's listing entries for one filename. */
async function entriesOf(member: Member, filename: string): Promise<Entry[]> {
  return (await member.permits.listAll()).filter((entry) => entry.filename === filename);
}

function isError(t: Test, reply: Reply, status: number, code: string, what: string) {
  t.equal(reply.status, status, `${what}: ${status}`);
  t.equal(reply.body?.code, code, `${what}: ${code}`);
}

/** A `/me` body: content of its own (random) is stored whole, so stored bytes equal bytes unless given. */
const usage = (username: string, files: number, bytes: number, storedBytes = bytes) => ({
  username,
  files,
  bytes,
  logical_bytes: bytes,
  stored_bytes: storedBytes,
  quota_bytes: null,
});

forEachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind);
  const client = new Client(server.url);
  const [ann, bob, cat, dan, eve] = await Promise.all(['Ann', 'bob', 'cat', 'dan', 'eve'].map((name) => signUp(client, name)));

  t.test('sharing: again is 200, names are found without regard to case, errors in the documented order', async (t) => {
    t.equal((await ann.drive.upload('plan.txt', randomContent(100))).status, 201);
    const first = await ann.permits.share('plan.txt', 'BOB');
    t.equal(first.status, 201);
    t.same(first.body, { filename: 'plan.txt', owner: 'Ann', username: 'bob', role: 'friend' }, 'names as registered');
    const again = await ann.permits.share('plan.txt', 'bob');
    t.equal(again.status, 200, 'sharing again is not an error');
    t.same(again.body, first.body);
    t.equal(
      (await client.call('POST', '/cloud/drive-permit', { token: ann.drive.token, json: { filename: 'plan.txt', username: 'cat' } }))
        .status,
      201,
      'without the trailing slash',
    );

    isError(t, await ann.permits.share('plan.txt', 'ann'), 400, 'VALIDATION_FAILED', 'sharing with oneself');
    isError(t, await ann.permits.share('plan.txt', 'nobody-at-all'), 404, 'USER_NOT_FOUND', 'an unknown recipient');
    isError(t, await ann.permits.share('missing.txt', 'nobody-at-all'), 404, 'FILE_NOT_FOUND', 'no such file, unknown recipient');
    isError(t, await bob.permits.share('plan.txt', 'nobody-at-all'), 403, 'NOT_OWNER', 'a friend, unknown recipient');
    isError(t, await bob.permits.share('plan.txt', 'bob'), 403, 'NOT_OWNER', 'a friend sharing with themself');
    isError(t, await dan.permits.share('plan.txt', 'nobody-at-all'), 404, 'FILE_NOT_FOUND', 'a stranger, unknown recipient');
    isError(t, await dan.permits.share('plan.txt', 'dan'), 404, 'FILE_NOT_FOUND', 'a stranger sharing with themself');
    isError(t, await dan.permits.share('plan.txt', 'eve', 'ann'), 404, 'FILE_NOT_FOUND', 'a stranger naming the owner');
  });

  t.test('JSON bodies keep their types; filenames follow the rules', async (t) => {
    const call = (method: string, json: unknown) => client.call(method, ROUTES.drivePermit, { token: ann.drive.token, json });
    for (const method of ['POST', 'PUT', 'DELETE']) {
      for (const json of [
        { filename: 12, username: 'bob' },
        { filename: 'plan.txt', username: null },
        { filename: 'plan.txt', username: ['bob'] },
        { filename: 'plan.txt', username: 'bob', owner: 7 },
        { filename: 'plan.txt' },
        { username: 'bob' },
        { filename: 'a/b', username: 'bob' },
        { filename: '', username: 'bob' },
      ]) {
        isError(t, await call(method, json), 400, 'VALIDATION_FAILED', `${method} ${JSON.stringify(json)}`);
      }
      const malformed = await client.call(method, ROUTES.drivePermit, {
        token: ann.drive.token,
        body: '{"filename":',
        headers: { 'content-type': 'application/json' },
      });
      isError(t, malformed, 400, 'VALIDATION_FAILED', `${method} malformed JSON`);
    }
    t.equal((await call('POST', { filename: 'plan.txt', username: 'eve', colour: 'blue' })).status, 201, 'unknown fields are ignored');
  });

  t.test('a transfer chain A→B→C keeps every friend', async (t) => {
    const content = randomContent(3000);
    t.equal((await ann.drive.upload('chain.bin', content)).status, 201);
    t.equal((await ann.permits.share('chain.bin', 'dan')).status, 201);
    t.equal((await ann.permits.share('chain.bin', 'bob')).status, 201);
    const annBefore = (await ann.drive.me()).body;
    const bobBefore = (await bob.drive.me()).body;

    const toBob = await ann.permits.transfer('chain.bin', 'BOB');
    t.equal(toBob.status, 200);
    t.same(toBob.body, { filename: 'chain.bin', owner: 'bob', previous_owner: 'Ann' });
    t.same(
      (await entriesOf(bob, 'chain.bin')).map((entry) => [entry.owner, entry.role]),
      [['bob', 'owner']],
      "bob's friend row became ownership",
    );
    for (const friend of [ann, dan]) {
      t.same(
        (await entriesOf(friend, 'chain.bin')).map((entry) => [entry.owner, entry.role]),
        [['bob', 'friend']],
        `${friend.name} is a friend of bob's file`,
      );
    }
    const friendsOfBob = await bob.permits.friends('chain.bin');
    t.equal(friendsOfBob.status, 200);
    t.same(friendsOfBob.body.friends.map((friend: { username: string }) => friend.username).sort(), ['Ann', 'dan']);
    isError(t, await ann.permits.friends('chain.bin'), 403, 'NOT_OWNER', 'the previous owner asks for the friends list');
    isError(t, await ann.permits.transfer('chain.bin', 'cat'), 403, 'NOT_OWNER', 'the previous owner hands it over again');
    t.same(
      (await ann.drive.me()).body,
      usage('Ann', annBefore.files - 1, annBefore.bytes - 3000, annBefore.stored_bytes - 3000),
      "/me: Ann's counts drop",
    );
    t.same(
      (await bob.drive.me()).body,
      usage('bob', bobBefore.files + 1, bobBefore.bytes + 3000, bobBefore.stored_bytes + 3000),
      "/me: bob's counts grow",
    );

    const toCat = await bob.permits.transfer('chain.bin', 'cat');
    t.same(toCat.body, { filename: 'chain.bin', owner: 'cat', previous_owner: 'bob' });
    const friendsOfCat = await cat.permits.friends('chain.bin');
    t.same(friendsOfCat.body.friends.map((friend: { username: string }) => friend.username).sort(), ['Ann', 'bob', 'dan']);
    for (const reader of [ann, bob, cat, dan]) {
      const download = await reader.drive.download('chain.bin');
      t.equal(download.status, 200, `${reader.name} still reads it`);
      t.equal(sha256Hex(download.raw), sha256Hex(content));
      const [entry] = await entriesOf(reader, 'chain.bin');
      t.equal(entry.owner, 'cat', `${reader.name} sees cat as the owner`);
      t.equal(entry.role, reader === cat ? 'owner' : 'friend');
    }
    isError(t, await eve.drive.download('chain.bin'), 404, 'FILE_NOT_FOUND', 'a stranger still reads nothing');

    t.equal((await cat.drive.delete('chain.bin')).status, 200, 'the new owner may delete it');
    for (const reader of [ann, bob, dan]) {
      isError(t, await reader.drive.download('chain.bin', {}, 'cat'), 404, 'FILE_NOT_FOUND', `${reader.name} loses access with the file`);
    }
  });

  t.test('a transfer: NAME_TAKEN, oneself, unknown users, friends', async (t) => {
    t.equal((await ann.drive.upload('same.txt', randomContent(10))).status, 201);
    const bobsOwn = randomContent(20);
    t.equal((await bob.drive.upload('same.txt', bobsOwn)).status, 201);
    t.equal((await ann.permits.share('same.txt', 'cat')).status, 201);
    isError(t, await ann.permits.transfer('same.txt', 'bob'), 409, 'NAME_TAKEN', 'bob owns a file of that name');
    t.same(
      (await entriesOf(bob, 'same.txt')).map((entry) => [entry.owner, entry.role]),
      [['bob', 'owner']],
      'nothing changed for bob',
    );
    t.equal(sha256Hex((await bob.drive.download('same.txt')).raw), sha256Hex(bobsOwn));
    t.same(
      (await entriesOf(ann, 'same.txt')).map((entry) => entry.role),
      ['owner'],
      'Ann still owns hers',
    );
    isError(t, await ann.permits.transfer('same.txt', 'ann'), 400, 'VALIDATION_FAILED', 'to oneself');
    isError(t, await ann.permits.transfer('same.txt', 'nobody-at-all'), 404, 'USER_NOT_FOUND', 'to an unknown user');
    isError(t, await cat.permits.transfer('same.txt', 'nobody-at-all'), 403, 'NOT_OWNER', 'a friend, to an unknown user');
    isError(t, await cat.permits.transfer('same.txt', 'cat'), 403, 'NOT_OWNER', 'a friend, to themself');
    isError(t, await eve.permits.transfer('same.txt', 'nobody-at-all'), 404, 'FILE_NOT_FOUND', 'a stranger, to an unknown user');
  });

  t.test('revoking: a friend leaving, NOT_SHARED, the owner, unknown users', async (t) => {
    t.equal((await ann.drive.upload('leave.txt', randomContent(10))).status, 201);
    for (const friend of ['bob', 'cat']) t.equal((await ann.permits.share('leave.txt', friend)).status, 201);

    isError(t, await bob.permits.revoke('leave.txt', 'ann'), 403, 'NOT_OWNER', 'a friend removing the owner');
    isError(t, await bob.permits.revoke('leave.txt', 'cat'), 403, 'NOT_OWNER', 'a friend removing another friend');
    isError(t, await bob.permits.revoke('leave.txt', 'nobody-at-all'), 403, 'NOT_OWNER', 'a friend removing an unknown user');
    const leaving = await bob.permits.revoke('leave.txt', 'BOB');
    t.equal(leaving.status, 200, 'a friend may remove themself');
    t.same(leaving.body, { filename: 'leave.txt', username: 'bob', revoked: true });
    isError(t, await bob.drive.download('leave.txt'), 404, 'FILE_NOT_FOUND', 'after leaving: download');
    t.same(await entriesOf(bob, 'leave.txt'), [], 'after leaving: not listed');
    isError(t, await bob.permits.revoke('leave.txt', 'bob'), 404, 'FILE_NOT_FOUND', 'after leaving: leaving again');
    t.same(
      (await ann.permits.friends('leave.txt')).body.friends.map((friend: { username: string }) => friend.username),
      ['cat'],
    );

    isError(t, await ann.permits.revoke('leave.txt', 'bob'), 404, 'NOT_SHARED', 'removing someone who is no friend');
    isError(t, await ann.permits.revoke('leave.txt', 'nobody-at-all'), 404, 'USER_NOT_FOUND', 'removing an unknown user');
    isError(t, await ann.permits.revoke('leave.txt', 'ANN'), 400, 'VALIDATION_FAILED', 'the owner removing themself');
    isError(t, await eve.permits.revoke('leave.txt', 'nobody-at-all'), 404, 'FILE_NOT_FOUND', 'a stranger, unknown user');
    const removed = await ann.permits.revoke('leave.txt', 'cat');
    t.same(removed.body, { filename: 'leave.txt', username: 'cat', revoked: true });
    isError(t, await cat.drive.download('leave.txt'), 404, 'FILE_NOT_FOUND', 'a removed friend reads nothing');
  });

  t.test('a re-created name gives former friends nothing; a replaced file shows at once', async (t) => {
    t.equal((await ann.drive.upload('reborn.txt', randomContent(10))).status, 201);
    t.equal((await ann.permits.share('reborn.txt', 'bob')).status, 201);
    const replacement = randomContent(77);
    t.equal((await ann.drive.upload('reborn.txt', replacement)).body.replaced, true);
    const seen = await bob.drive.download('reborn.txt');
    t.equal(sha256Hex(seen.raw), sha256Hex(replacement), 'the friend reads the new content at once');
    const [entry] = await entriesOf(bob, 'reborn.txt');
    t.match(entry, { sha256: sha256Hex(replacement), size: 77, role: 'friend', owner: 'Ann' });

    t.equal((await ann.drive.delete('reborn.txt')).status, 200);
    t.equal((await ann.drive.upload('reborn.txt', replacement)).status, 201);
    isError(t, await bob.drive.download('reborn.txt'), 404, 'FILE_NOT_FOUND', 'the former friend cannot read the new file');
    isError(t, await bob.drive.download('reborn.txt', {}, 'ann'), 404, 'FILE_NOT_FOUND', 'nor by naming the owner');
    t.same(await entriesOf(bob, 'reborn.txt'), [], 'nor list it');
    t.same((await ann.permits.friends('reborn.txt')).body.friends, [], 'the new file has no friends');
  });

  t.test('the same name from two owners: AMBIGUOUS_FILENAME, and owner picks one', async (t) => {
    for (const owner of [bob, cat]) {
      t.equal((await owner.drive.upload('twin.txt', randomContent(10))).status, 201);
      t.equal((await owner.permits.share('twin.txt', 'dan')).status, 201);
    }
    const ambiguous = await dan.drive.download('twin.txt');
    isError(t, ambiguous, 409, 'AMBIGUOUS_FILENAME', 'download without owner');
    t.same(ambiguous.body.owners, ['bob', 'cat']);
    isError(t, await dan.permits.revoke('twin.txt', 'dan'), 409, 'AMBIGUOUS_FILENAME', 'leaving without owner');
    t.equal((await dan.permits.revoke('twin.txt', 'dan', 'BOB')).status, 200, 'leaving one of them with owner');
    t.equal((await dan.drive.download('twin.txt')).status, 200, 'the other one is now the only match');
    isError(t, await dan.permits.friends('twin.txt', 'cat'), 403, 'NOT_OWNER', 'friends list with owner, as a friend');
    const catsFriends = await cat.permits.friends('twin.txt', 'cat');
    t.equal(catsFriends.status, 200);
    isError(t, await cat.permits.friends('twin.txt', 'bob'), 404, 'FILE_NOT_FOUND', 'naming an owner whose file one cannot read');
  });

  t.test('the friends list: shape, times, names in the path', async (t) => {
    const name = 'Re\u0301sume\u0301 #1? 100%.txt';
    const before = Date.now();
    t.equal((await ann.drive.upload(name.normalize('NFC'), randomContent(10))).status, 201);
    t.equal((await ann.permits.share(name, 'eve')).status, 201, 'an NFD name finds the NFC file');
    const after = Date.now();
    for (const path of [
      `${ROUTES.driveShare}${encodeURIComponent(name)}/`,
      `${ROUTES.driveShare}${encodeURIComponent(name)}`,
      `${ROUTES.driveShare}${encodeURIComponent(name.normalize('NFC'))}/?owner=ANN`,
    ]) {
      const reply = await client.call('GET', path, { token: ann.drive.token });
      t.equal(reply.status, 200, path);
      t.same(Object.keys(reply.body).sort(), ['filename', 'friends', 'owner']);
      t.equal(reply.body.filename, name.normalize('NFC'));
      t.equal(reply.body.owner, 'Ann');
      t.equal(reply.body.friends.length, 1);
      const [friend] = reply.body.friends;
      t.same(Object.keys(friend).sort(), ['since', 'username']);
      t.equal(friend.username, 'eve');
      t.match(friend.since, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const since = Date.parse(friend.since);
      t.ok(since >= before && since <= after, 'since is when the friend was added');
    }
    isError(t, await ann.permits.friends('no such file'), 404, 'FILE_NOT_FOUND', 'an unknown file');
    isError(t, await ann.permits.friends(name, 'nobody-at-all'), 404, 'FILE_NOT_FOUND', 'an unknown owner');
    const bad = await client.call('GET', `${ROUTES.driveShare}${encodeURIComponent('a\u0001b')}/`, { token: ann.drive.token });
    isError(t, bad, 400, 'VALIDATION_FAILED', 'a control character in the name');
  });

  t.test('GET /me counts the files and bytes owned, not those shared', async (t) => {
    const fresh = await signUp(client, 'fresh');
    t.same((await fresh.drive.me()).body, usage('fresh', 0, 0));
    t.equal((await fresh.drive.upload('one', randomContent(1000))).status, 201);
    t.equal((await fresh.drive.upload('two', randomContent(24))).status, 201);
    t.equal((await fresh.drive.upload('empty', Buffer.alloc(0))).status, 201);
    t.equal((await eve.drive.upload('shared-with-fresh', randomContent(5000))).status, 201);
    t.equal((await eve.permits.share('shared-with-fresh', 'fresh')).status, 201);
    t.same((await fresh.drive.me()).body, usage('fresh', 3, 1024));
    t.equal((await fresh.drive.upload('one', randomContent(1))).body.replaced, true);
    t.same((await fresh.drive.me()).body, usage('fresh', 3, 25), 'a replaced file counts its new size');
  });

  t.test('concurrent changes of one file stay consistent', async (t) => {
    for (let round = 0; round < 4; round++) {
      const filename = `race ${round}.txt`;
      t.equal((await ann.drive.upload(filename, randomContent(10))).status, 201);
      const [toBob, toCat, shareEve] = await Promise.all([
        ann.permits.transfer(filename, 'bob'),
        ann.permits.transfer(filename, 'cat'),
        ann.permits.share(filename, 'eve'),
      ]);
      const winners = [toBob, toCat].filter((reply) => reply.status === 200);
      t.equal(winners.length, 1, 'one transfer wins');
      const loser = [toBob, toCat].find((reply) => reply.status !== 200);
      isError(t, loser!, 403, 'NOT_OWNER', 'the other finds Ann no longer the owner');
      const newOwner = winners[0].body.owner as string;
      t.ok([201, 403].includes(shareEve.status), 'the share ran before or after the transfer');
      const loserName = newOwner === 'bob' ? 'cat' : 'bob';
      const readers: [Member, string][] = [
        [ann, 'friend'],
        [newOwner === 'bob' ? bob : cat, 'owner'],
      ];
      if (shareEve.status === 201) readers.push([eve, 'friend']);
      for (const [member, role] of readers) {
        const entries = await entriesOf(member, filename);
        t.same(
          entries.map((entry) => [entry.owner, entry.role]),
          [[newOwner, role]],
          `${member.name}: ${role} of ${newOwner}'s file`,
        );
      }
      t.same(await entriesOf(loserName === 'bob' ? bob : cat, filename), [], `${loserName} was never a reader`);

      const contested = `contested ${round}.txt`;
      t.equal((await ann.drive.upload(contested, randomContent(10))).status, 201);
      const [transfer, upload] = await Promise.all([
        ann.permits.transfer(contested, 'dan'),
        dan.drive.upload(contested, randomContent(30)),
      ]);
      if (transfer.status === 200) {
        t.equal(upload.body.replaced, true, 'transfer first: the upload replaced the file dan now owns');
      } else {
        isError(t, transfer, 409, 'NAME_TAKEN', 'upload first: the transfer finds the name taken');
        t.equal(upload.body.replaced, false);
      }
      t.same(
        (await entriesOf(dan, contested)).map((entry) => [entry.owner, entry.role]),
        [['dan', 'owner']],
        'dan owns exactly one file of that name',
      );
    }
  });
});
