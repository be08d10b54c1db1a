import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { CliUser, jsonLines } from './helpers/cli.js';
import { sha256, writeRandomFile } from './helpers/files.js';
import { startProxy } from './helpers/proxy.js';
import { databaseEnv, startServer, type DatabaseKind, type RunningServer } from './helpers/server.js';

const MIB = 1024 * 1024;

// put is the CLI's use of the claim and the raw upload route: it runs against both databases,
// at once (each has its own server and database; most of the time is spent waiting on processes).
t.jobs = 2;
for (const kind of ['sqlite', 'mysql'] as DatabaseKind[]) {
  t.test(kind, async (t) => {
    const server = await startServer(t, await databaseEnv(t, kind));
    putTests(t, server);
  });
}

function putTests(t: Test, server: RunningServer): void {
  t.test('new content: the claim by digest first, then the raw upload with its Repr-Digest', async (t) => {
    const alice = await CliUser.registered(t, server.url, 'alice');
    const proxy = await startProxy(t, server.port);
    const text = 'minutes of the meeting\n'.repeat(100);
    await writeFile(join(alice.home, 'notes.txt'), text);

    const put = await alice.runVia(proxy.url, ['put', 'notes.txt']);
    t.equal(put.code, 0, put.stderr);
    t.equal(put.stdout, 'notes.txt: uploaded 2.2 KiB\n');
    t.equal(proxy.requests.length, 2);
    const [claim, upload] = proxy.requests;
    t.match(claim, { method: 'POST', target: '/cloud/my-drive/', status: 404 });
    t.match(claim.headers, /\r\ncontent-type: application\/json/i);
    t.match(upload, { method: 'POST', target: '/cloud/my-drive/?filename=notes.txt&content_type=text%2Fplain', status: 201 });
    t.match(upload.headers, /\r\ncontent-type: application\/octet-stream/i);
    t.match(upload.headers, `\r\ncontent-length: ${text.length}`);
    const digest = Buffer.from(sha256(text), 'hex').toString('base64');
    t.match(upload.headers, `\r\nrepr-digest: sha-256=:${digest}:`);

    const back = await alice.run(['get', 'notes.txt', '-o', '-']);
    t.equal(back.stdout, text);
  });

  t.test('a 64 MiB duplicate sends under 128 KiB: claim, proof of possession, nothing else', async (t) => {
    const alice = await CliUser.registered(t, server.url, 'alice64');
    const sha = await writeRandomFile(join(alice.home, 'video.bin'), 64 * MIB);
    const first = await alice.run(['put', 'video.bin']);
    t.equal(first.code, 0, first.stderr);

    const proxy = await startProxy(t, server.port);
    const again = await alice.runVia(proxy.url, ['put', 'video.bin', '--name', 'copy of video.bin', '--json']);
    t.equal(again.code, 0, again.stderr);
    t.ok(proxy.bytesUp() < 128 * 1024, `${proxy.bytesUp()} bytes went up`);
    t.same(
      proxy.requests.map((request) => [request.method, request.target, request.status]),
      [
        ['POST', '/cloud/my-drive/', 428],
        ['POST', '/cloud/my-drive/', 201],
      ],
    );
    t.same(jsonLines(again.stdout), [
      { path: 'video.bin', filename: 'copy of video.bin', sha256: sha, size: 64 * MIB, deduplicated: true, replaced: false },
    ]);

    const human = await alice.run(['put', 'video.bin']);
    t.equal(human.stdout, 'video.bin: deduplicated, nothing uploaded (64.0 MiB); it replaces your earlier video.bin\n');
  });

  t.test("another user's content is not disclosed: the bytes go up, and the line says so", async (t) => {
    const owner = await CliUser.registered(t, server.url, 'owner');
    const stranger = await CliUser.registered(t, server.url, 'stranger');
    const content = randomBytes(200_000);
    await writeFile(join(owner.home, 'a.bin'), content);
    await writeFile(join(stranger.home, 'b.bin'), content);
    t.equal((await owner.run(['put', 'a.bin'])).code, 0);
    const proxy = await startProxy(t, server.port);
    const put = await stranger.runVia(proxy.url, ['put', 'b.bin']);
    t.equal(put.code, 0, put.stderr);
    t.equal(put.stdout, 'b.bin: uploaded 195.3 KiB\n');
    t.ok(proxy.bytesUp() > content.length, 'the bytes were sent');
    t.same(
      proxy.requests.map((request) => request.status),
      [404, 201],
    );
  });

  t.test('several paths: each gets a line, failures do not stop the rest, the first failure is the exit code', async (t) => {
    const bob = await CliUser.registered(t, server.url, 'bob');
    await writeFile(join(bob.home, 'one.txt'), 'one\n');
    await writeFile(join(bob.home, 'two.txt'), 'two\n');
    await mkdir(join(bob.home, 'folder'));
    const put = await bob.run(['put', 'one.txt', 'missing.txt', 'folder', 'two.txt', '--json']);
    t.equal(put.code, 4, 'the first failure: a missing path');
    const lines = jsonLines(put.stdout);
    t.equal(lines.length, 4);
    t.match(lines[0], { path: 'one.txt', filename: 'one.txt', sha256: sha256('one\n'), size: 4, deduplicated: false, replaced: false });
    t.same(lines[1], { path: 'missing.txt', error: { code: 'PATH_NOT_FOUND', message: 'no such file or directory' }, exit: 4 });
    t.match(lines[2], { path: 'folder', error: { code: 'IS_A_DIRECTORY', message: String }, exit: 2 });
    t.match(lines[3], { path: 'two.txt', filename: 'two.txt', size: 4 });
    t.equal(
      put.stderr,
      'cloudstore: missing.txt: no such file or directory\ncloudstore: folder: is a directory: put uploads files (a glob such as dir/* names them)\n',
    );

    const directory = await bob.run(['put', 'folder']);
    t.equal(directory.code, 2);
    const missing = await bob.run(['put', 'missing.txt']);
    t.equal(missing.code, 4);
    t.equal(missing.stdout, '');
    const badName = await bob.run(['put', 'one.txt', '--name', 'a/b']);
    t.equal(badName.code, 2);
    t.match(badName.stderr, /must not contain \//);
  });

  t.test('standard input: spooled while hashing, removed afterwards; round trip through get -o -', async (t) => {
    const carol = await CliUser.registered(t, server.url, 'carol');
    const scratch = await mkdtemp(join(tmpdir(), 'cloudstore-cli-tmp-'));
    t.teardown(() => rm(scratch, { recursive: true, force: true }));
    const content = randomBytes(3 * MIB + 17);
    const put = await carol.run(['put', '-', '--name', 'piped.bin', '--json'], { input: content, env: { TMPDIR: scratch } });
    t.equal(put.code, 0, put.stderr);
    t.match(jsonLines(put.stdout), [{ path: '-', filename: 'piped.bin', sha256: sha256(content), size: content.length }]);
    t.same(await readdir(scratch), [], 'the spool file is gone');

    const back = await carol.run(['get', 'piped.bin', '-o', '-']);
    t.equal(back.code, 0, back.stderr);
    t.ok(back.stdoutBytes.equals(content), 'the same bytes came back');

    const again = await carol.run(['put', '-', '--name', 'piped again.bin'], { input: content, env: { TMPDIR: scratch } });
    t.equal(again.stdout, 'piped again.bin: deduplicated, nothing uploaded (3.0 MiB)\n');

    const noName = await carol.run(['put', '-'], { input: 'x' });
    t.equal(noName.code, 2);
    const nameForTwo = await carol.run(['put', 'a', 'b', '--name', 'c']);
    t.equal(nameForTwo.code, 2);
  });

  t.test('put without a session exits 3 before reading anything', async (t) => {
    const nobody = await CliUser.create(t, server.url, 'nobody');
    await writeFile(join(nobody.home, 'x.txt'), 'x');
    const put = await nobody.run(['put', 'x.txt']);
    t.equal(put.code, 3);
    t.match(put.stderr, /not logged in/);
  });
}
