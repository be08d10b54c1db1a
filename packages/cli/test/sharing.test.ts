import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { CliUser, jsonLines } from './helpers/cli.js';
import { startServer } from './helpers/server.js';

const server = await startServer(t);

t.test('share, ls, get as the friend, friends, unshare', async (t) => {
  const [alice, bob] = await CliUser.registeredAll(t, server.url, 'alice', 'bob');
  await alice.upload('plans.txt', 'world domination, step 1\n');

  const share = await alice.run(['share', 'plans.txt', 'bob']);
  t.equal(share.code, 0, share.stderr);
  t.equal(share.stdout, 'plans.txt: shared with bob\n');
  const again = await alice.run(['share', 'plans.txt', 'BOB']);
  t.equal(again.code, 0, 'sharing again is not an error');
  t.equal(again.stdout, 'plans.txt: shared with bob (already shared)\n');

  const listed = await bob.run(['ls', '--json']);
  t.equal(listed.code, 0, listed.stderr);
  t.match(jsonLines(listed.stdout), [
    {
      filename: 'plans.txt',
      owner: 'alice',
      role: 'friend',
      size: 25,
      sha256: String,
      content_type: 'text/plain',
      created_at: String,
      updated_at: String,
    },
  ]);
  t.equal((await bob.run(['ls', '--owned'])).stdout, '');
  t.match((await bob.run(['ls', '--shared'])).stdout, /^\s+25 B {2}\d{4}-\d\d-\d\d \d\d:\d\d {2}alice {2}plans\.txt\n$/);
  t.equal((await bob.run(['ls', '--owned', '--shared'])).code, 2);

  const get = await bob.run(['get', 'plans.txt']);
  t.equal(get.code, 0, get.stderr);
  t.equal(await readFile(join(bob.home, 'plans.txt'), 'utf8'), 'world domination, step 1\n');

  const friends = await alice.run(['friends', 'plans.txt', '--json']);
  t.match(jsonLines(friends.stdout), [{ filename: 'plans.txt', owner: 'alice', username: 'bob', since: String }]);
  t.equal((await bob.run(['friends', 'plans.txt'])).code, 5, 'only the owner lists friends');

  const unshare = await alice.run(['unshare', 'plans.txt', 'bob', '--json']);
  t.equal(unshare.code, 0, unshare.stderr);
  t.same(jsonLines(unshare.stdout), [{ filename: 'plans.txt', username: 'bob', revoked: true }]);
  t.equal((await bob.run(['get', 'plans.txt', '--force'])).code, 4, 'the former friend cannot read it');
  t.equal((await alice.run(['unshare', 'plans.txt', 'bob'])).code, 4, 'NOT_SHARED');
  const friendsNone = await alice.run(['friends', 'plans.txt']);
  t.equal(friendsNone.stdout, '');
  t.equal(friendsNone.stderr, 'plans.txt: shared with nobody\n');
});

t.test('share with several users: a line each, the rest go on after a failure', async (t) => {
  const [carol, dave, erin] = await CliUser.registeredAll(t, server.url, 'carol', 'dave', 'erin');
  await carol.upload('menu.md', '# soup\n');
  const share = await carol.run(['share', 'menu.md', 'dave', 'nobody-at-all', 'carol', 'erin', '--json']);
  t.equal(share.code, 4, 'the first failure: an unknown user');
  const lines = jsonLines(share.stdout);
  t.equal(lines.length, 4);
  t.same(lines[0], { filename: 'menu.md', owner: 'carol', username: 'dave', role: 'friend' });
  t.match(lines[1], { filename: 'menu.md', username: 'nobody-at-all', error: { code: 'USER_NOT_FOUND' }, exit: 4 });
  t.match(lines[2], { filename: 'menu.md', username: 'carol', error: { code: 'VALIDATION_FAILED' }, exit: 2 });
  t.match(lines[3], { username: 'erin', role: 'friend' });
  t.match(share.stderr, /^cloudstore: menu\.md \(nobody-at-all\): .*\ncloudstore: menu\.md \(carol\): .*\n$/);
  t.equal((await dave.run(['share', 'menu.md', 'erin'])).code, 5, 'a friend may not share');
  t.equal((await dave.run(['rm', 'menu.md'])).code, 5, 'a friend may not delete');
  t.equal((await erin.run(['unshare', 'menu.md', 'erin'])).code, 0, 'a friend may leave');
  t.equal((await carol.run(['share', 'missing.md', 'dave'])).code, 4);
});

t.test("a friend's put of the same content is a claim: nothing uploaded", async (t) => {
  const [kate, leo] = await CliUser.registeredAll(t, server.url, 'kate', 'leo');
  await kate.upload('song.flac', 'la la la\n'.repeat(1000));
  t.equal((await kate.run(['share', 'song.flac', 'leo'])).code, 0);
  await writeFile(join(leo.home, 'mine.flac'), 'la la la\n'.repeat(1000));
  const put = await leo.run(['put', 'mine.flac']);
  t.equal(put.code, 0, put.stderr);
  t.equal(put.stdout, 'mine.flac: deduplicated, nothing uploaded (8.8 KiB)\n');
});
