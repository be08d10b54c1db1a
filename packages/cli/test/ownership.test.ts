import t from 'tap';
import { CliUser, jsonLines } from './helpers/cli.js';
import { startServer } from './helpers/server.js';

const server = await startServer(t);

t.test('transfer hands ownership over; the previous owner stays on as a friend', async (t) => {
  const [frank, grace] = await CliUser.registeredAll(t, server.url, 'frank', 'grace');
  await frank.upload('deed.pdf', 'the house\n');
  const transfer = await frank.run(['transfer', 'deed.pdf', 'grace']);
  t.equal(transfer.code, 0, transfer.stderr);
  t.equal(transfer.stdout, 'deed.pdf: now owned by grace; frank keeps read access\n');
  t.match(jsonLines((await frank.run(['ls', '--json'])).stdout), [{ filename: 'deed.pdf', owner: 'grace', role: 'friend' }]);
  t.equal((await frank.run(['transfer', 'deed.pdf', 'frank'])).code, 5, 'no longer the owner');

  await frank.upload('deed.pdf', 'another house\n');
  const taken = await grace.run(['transfer', 'deed.pdf', 'frank', '--json']);
  t.equal(taken.code, 6, 'frank already owns a file of that name');
  t.match(jsonLines(taken.stdout), [{ filename: 'deed.pdf', username: 'frank', error: { code: 'NAME_TAKEN' }, exit: 6 }]);
  t.equal((await grace.run(['transfer', 'deed.pdf', 'nobody-at-all'])).code, 4);
});

t.test("--owner picks among friends' files of the same name", async (t) => {
  const [heidi, ivan, judy] = await CliUser.registeredAll(t, server.url, 'heidi', 'ivan', 'judy');
  await ivan.upload('notes.txt', 'ivan wrote this\n');
  await judy.upload('notes.txt', 'judy wrote this\n');
  t.equal((await ivan.run(['share', 'notes.txt', 'heidi'])).code, 0);
  t.equal((await judy.run(['share', 'notes.txt', 'heidi'])).code, 0);

  const ambiguous = await heidi.run(['get', 'notes.txt']);
  t.equal(ambiguous.code, 6);
  t.match(ambiguous.stderr, /owners: ivan, judy\): choose one with --owner/);
  const picked = await heidi.run(['get', 'notes.txt', '--owner', 'judy', '-o', '-']);
  t.equal(picked.code, 0, picked.stderr);
  t.equal(picked.stdout, 'judy wrote this\n');
  t.equal((await heidi.run(['unshare', 'notes.txt', 'heidi', '--owner', 'ivan'])).code, 0);
  const nowOne = await heidi.run(['get', 'notes.txt', '-o', '-']);
  t.equal(nowOne.stdout, 'judy wrote this\n');
});

t.test('rm deletes owned files, goes on after a failure, and friends lose access', async (t) => {
  const [mallory, nick] = await CliUser.registeredAll(t, server.url, 'mallory', 'nick');
  await mallory.upload('a.txt', 'a\n');
  await mallory.upload('b.txt', 'b\n');
  t.equal((await mallory.run(['share', 'a.txt', 'nick'])).code, 0);
  const rm = await mallory.run(['rm', 'a.txt', 'nothing.txt', 'b.txt']);
  t.equal(rm.code, 4);
  t.equal(rm.stdout, 'a.txt: deleted\nb.txt: deleted\n');
  t.equal(rm.stderr, "cloudstore: nothing.txt: no file named 'nothing.txt' is visible to you\n");
  t.equal((await nick.run(['get', 'a.txt'])).code, 4);
  t.equal((await mallory.run(['ls'])).stdout, '');
});
