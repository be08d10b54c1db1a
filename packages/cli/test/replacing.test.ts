import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { CliUser, jsonLines, runInTerminal } from './helpers/cli.js';
import { startProxy } from './helpers/proxy.js';
import { startServer } from './helpers/server.js';

const server = await startServer(t);
const [alice, bob, carol] = await CliUser.registeredAll(t, server.url, 'alice', 'bob', 'carol');
await alice.upload('notes.txt', 'first draft\n');
await writeFile(join(alice.home, 'notes.txt'), 'second draft\n');

t.test('put --no-clobber: a name of yours is a conflict (exit 6), and nothing is read or sent', async (t) => {
  const proxy = await startProxy(t, server.port);
  const refused = await alice.runVia(proxy.url, ['put', 'notes.txt', '--no-clobber']);
  t.equal(refused.code, 6);
  t.equal(refused.stdout, '');
  t.equal(refused.stderr, 'cloudstore: notes.txt: you already have a file named notes.txt (--no-clobber)\n');
  t.same(
    proxy.requests.map((request) => [request.method, request.status]),
    [['GET', 200]],
    'one lookup, no claim, no upload',
  );
  t.equal((await alice.run(['get', 'notes.txt', '-o', '-'])).stdout, 'first draft\n', 'the file is unchanged');

  const json = await alice.run(['put', 'notes.txt', '--no-clobber', '--json']);
  t.same(jsonLines(json.stdout), [
    { path: 'notes.txt', error: { code: 'NAME_TAKEN', message: 'you already have a file named notes.txt (--no-clobber)' }, exit: 6 },
  ]);
});

t.test("put --no-clobber: a new name, or a friend's file of that name, goes up", async (t) => {
  await writeFile(join(alice.home, 'fresh.txt'), 'fresh\n');
  const fresh = await alice.run(['put', 'fresh.txt', '--no-clobber']);
  t.equal(fresh.code, 0, fresh.stderr);
  t.equal(fresh.stdout, 'fresh.txt: uploaded 6 B\n');

  t.equal((await alice.run(['share', 'fresh.txt', 'carol'])).code, 0);
  await writeFile(join(carol.home, 'fresh.txt'), 'carol has her own\n');
  const friendOf = await carol.run(['put', 'fresh.txt', '--no-clobber']);
  t.equal(friendOf.code, 0, friendOf.stderr);

  const stdin = await alice.run(['put', '-', '--name', 'fresh.txt', '--no-clobber'], { input: 'x' });
  t.equal(stdin.code, 6, 'standard input too');
});

t.test('on a terminal, replacing a shared file says how many friends will read the new content', async (t) => {
  t.equal((await alice.run(['share', 'notes.txt', 'bob', 'carol'])).code, 0);
  const put = await runInTerminal(alice, ['put', 'notes.txt']);
  t.equal(put.code, 0, put.output);
  t.match(put.output, /^replacing notes\.txt, shared with 2 friends\r\n/);
  t.match(put.output, /notes\.txt: uploaded 13 B; it replaces your earlier notes\.txt\r\n$/);
  t.equal((await bob.run(['get', 'notes.txt', '-o', '-'])).stdout, 'second draft\n', 'friends read the new content');

  const piped = await alice.run(['put', 'notes.txt']);
  t.equal(piped.stderr, '', 'no notice when standard error is not a terminal');
  const quiet = await runInTerminal(alice, ['put', 'notes.txt', '--quiet']);
  t.equal(quiet.output, '', 'none with --quiet');
  await alice.upload('solo.txt', 'mine alone\n');
  const unshared = await runInTerminal(alice, ['put', 'solo.txt', '--no-progress']);
  t.equal(
    unshared.output,
    'solo.txt: deduplicated, nothing uploaded (11 B); it replaces your earlier solo.txt\r\n',
    'none for an unshared file',
  );
});
