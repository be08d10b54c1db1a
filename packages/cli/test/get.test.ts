import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { CliUser, jsonLines, runInTerminal } from './helpers/cli.js';
import { sha256 } from './helpers/files.js';
import { startProxy } from './helpers/proxy.js';
import { startServer } from './helpers/server.js';

const server = await startServer(t);

/** A user with one file on the server, uploaded from a folder of its own so that downloads land elsewhere. */
async function userWithFile(t: { teardown(fn: () => unknown): void }, username: string, filename: string, content: Buffer) {
  const user = await CliUser.registered(t, server.url, username);
  await mkdir(join(user.home, 'uploads'));
  await writeFile(join(user.home, 'uploads', filename), content);
  const put = await user.run(['put', join('uploads', filename)]);
  if (put.code !== 0) throw new Error(put.stderr);
  return user;
}

t.test('get writes ./NAME, checked against the digest, and refuses to overwrite without --force', async (t) => {
  const content = randomBytes(2 * 1024 * 1024 + 5);
  const alice = await userWithFile(t, 'alice', 'photo.jpg', content);

  const get = await alice.run(['get', 'photo.jpg']);
  t.equal(get.code, 0, get.stderr);
  t.equal(get.stdout, 'photo.jpg: saved 2.0 MiB to photo.jpg\n');
  t.ok((await readFile(join(alice.home, 'photo.jpg'))).equals(content));

  await writeFile(join(alice.home, 'photo.jpg'), 'mine, do not touch');
  const refused = await alice.run(['get', 'photo.jpg']);
  t.equal(refused.code, 6);
  t.match(refused.stderr, /^cloudstore: photo\.jpg: .*photo\.jpg already exists: add --force to overwrite it\n$/);
  t.equal(await readFile(join(alice.home, 'photo.jpg'), 'utf8'), 'mine, do not touch');

  const forced = await alice.run(['get', 'photo.jpg', '--force', '--json']);
  t.equal(forced.code, 0, forced.stderr);
  t.same(jsonLines(forced.stdout), [
    {
      filename: 'photo.jpg',
      sha256: sha256(content),
      size: content.length,
      content_type: 'image/jpeg',
      path: join(alice.home, 'photo.jpg'),
    },
  ]);
  t.ok((await readFile(join(alice.home, 'photo.jpg'))).equals(content));
  t.same(
    (await readdir(alice.home)).filter((name) => name.includes('cloudstore-part')),
    [],
    'no temporary file left',
  );
});

t.test('-o names a file, a directory (DIR/NAME), or - for standard output', async (t) => {
  const content = Buffer.from('quarterly figures\n');
  const bob = await userWithFile(t, 'bob', 'report.csv', content);
  await mkdir(join(bob.home, 'inbox'));

  const intoDirectory = await bob.run(['get', 'report.csv', '-o', 'inbox']);
  t.equal(intoDirectory.code, 0, intoDirectory.stderr);
  t.equal(await readFile(join(bob.home, 'inbox', 'report.csv'), 'utf8'), 'quarterly figures\n');

  const toPath = await bob.run(['get', 'report.csv', '--output', 'inbox/renamed.csv']);
  t.equal(toPath.code, 0, toPath.stderr);
  t.equal(await readFile(join(bob.home, 'inbox', 'renamed.csv'), 'utf8'), 'quarterly figures\n');

  const toStdout = await bob.run(['get', 'report.csv', '-o', '-', '--json']);
  t.equal(toStdout.code, 0, toStdout.stderr);
  t.equal(toStdout.stdout, 'quarterly figures\n', 'the file alone: no result line in the way');

  const missingDirectory = await bob.run(['get', 'report.csv', '-o', 'nowhere/']);
  t.equal(missingDirectory.code, 4);
});

t.test('DEST as a positional argument: a file, a directory or -, but not together with -o', async (t) => {
  const content = Buffer.from('minutes\n');
  const erin = await userWithFile(t, 'erin', 'notes.txt', content);
  await mkdir(join(erin.home, 'dl'));

  const intoDirectory = await erin.run(['get', 'notes.txt', 'dl/']);
  t.equal(intoDirectory.code, 0, intoDirectory.stderr);
  t.equal(intoDirectory.stdout, 'notes.txt: saved 8 B to dl/notes.txt\n');
  const toPath = await erin.run(['get', 'notes.txt', 'dl/copy.txt']);
  t.equal(toPath.code, 0, toPath.stderr);
  t.equal(await readFile(join(erin.home, 'dl', 'copy.txt'), 'utf8'), 'minutes\n');
  const toStdout = await erin.run(['get', 'notes.txt', '-']);
  t.equal(toStdout.code, 0, toStdout.stderr);
  t.equal(toStdout.stdout, 'minutes\n');

  const both = await erin.run(['get', 'notes.txt', 'dl/x.txt', '-o', 'dl/y.txt']);
  t.equal(both.code, 2);
  t.match(both.stderr, /^cloudstore: give the destination once: as DEST or with -o, not both\n/);
  t.same(await readdir(join(erin.home, 'dl')), ['copy.txt', 'notes.txt'], 'nothing written');
});

t.test('to standard output on a terminal: the content alone, no progress bar glued to it', async (t) => {
  const frank = await userWithFile(t, 'frank', 'hello.txt', Buffer.from('hello from frank\n'));
  for (const args of [
    ['get', 'hello.txt', '-'],
    ['get', 'hello.txt', '-o', '-'],
  ]) {
    const shown = await runInTerminal(frank, args);
    t.equal(shown.code, 0, shown.output);
    t.equal(shown.output, 'hello from frank\r\n', args.join(' '));
  }
  const toFile = await runInTerminal(frank, ['get', 'hello.txt', 'saved.txt']);
  t.match(toFile.output, /downloading hello\.txt {2}/, 'a bar still shows when the file goes to disk');
});

t.test('a file that is not there, or not visible, is 4 with a JSON failure line', async (t) => {
  const carol = await CliUser.registered(t, server.url, 'carol');
  const get = await carol.run(['get', 'ghost.txt', '--json']);
  t.equal(get.code, 4);
  t.same(jsonLines(get.stdout), [
    { filename: 'ghost.txt', error: { code: 'FILE_NOT_FOUND', message: "no file named 'ghost.txt' is visible to you" }, exit: 4 },
  ]);
  t.equal(get.stderr, "cloudstore: ghost.txt: no file named 'ghost.txt' is visible to you\n");
  t.same(await readdir(carol.home), ['.config'], 'nothing written');
  const stranger = await carol.run(['get', 'photo.jpg', '--owner', 'alice']);
  t.equal(stranger.code, 4);
});

t.test('a byte flipped on the way: exit 7 and no file, not even a temporary one', async (t) => {
  const content = randomBytes(300_000);
  const dave = await userWithFile(t, 'dave', 'contract.pdf', content);
  const proxy = await startProxy(t, server.port, { corruptDownloads: true });

  const get = await dave.runVia(proxy.url, ['get', 'contract.pdf']);
  t.equal(get.code, 7);
  t.equal(get.stderr, "cloudstore: contract.pdf: the downloaded bytes do not match the server's SHA-256: nothing was saved\n");
  t.same((await readdir(dave.home)).sort(), ['.config', '.local', 'uploads']);
  t.same(await readdir(join(dave.home, '.local', 'state', 'cloudstore', 'downloads')), [], 'no resume record either');

  const forced = await dave.runVia(proxy.url, ['get', 'contract.pdf', '-o', 'uploads/contract.pdf', '--force']);
  t.equal(forced.code, 7);
  t.ok((await readFile(join(dave.home, 'uploads', 'contract.pdf'))).equals(content), 'the existing file is untouched');

  const toStdout = await dave.runVia(proxy.url, ['get', 'contract.pdf', '-o', '-']);
  t.equal(toStdout.code, 7, 'standard output cannot be taken back, but the exit code tells');
});

t.test('a file of 64 MiB and more is hashed on a thread of its own, and checked all the same', async (t) => {
  const content = randomBytes(64 * 1024 * 1024 + 7);
  const grace = await userWithFile(t, 'grace', 'disk.img', content);
  const get = await grace.run(['get', 'disk.img']);
  t.equal(get.code, 0, get.stderr);
  t.ok((await readFile(join(grace.home, 'disk.img'))).equals(content));

  const proxy = await startProxy(t, server.port, { corruptDownloads: true });
  const corrupt = await grace.runVia(proxy.url, ['get', 'disk.img', '-o', 'copy.img']);
  t.equal(corrupt.code, 7);
  t.equal(corrupt.stderr, "cloudstore: disk.img: the downloaded bytes do not match the server's SHA-256: nothing was saved\n");
  t.notOk((await readdir(grace.home)).includes('copy.img'));
});
