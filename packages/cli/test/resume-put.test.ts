import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CliUser } from './helpers/cli.js';
import { sha256, writeRandomFile } from './helpers/files.js';
import { startProxy } from './helpers/proxy.js';
import { MIB, RESUMABLE_TEST_SETTINGS, requestSummary, uploadOffsetOf, uploadStates } from './helpers/resumable.js';
import { databaseEnv, startServer, type DatabaseKind, type RunningServer } from './helpers/server.js';

const SIZE = 16 * MIB;
const TEST_SETTINGS = RESUMABLE_TEST_SETTINGS;

// put's resume is the CLI's use of the tus routes: it runs against both databases.
// (Retries within one run: put-retries.test.ts.)
for (const kind of ['sqlite', 'mysql'] as DatabaseKind[]) {
  t.test(kind, async (t) => {
    const server = await startServer(t, await databaseEnv(t, kind));
    resumeTests(t, server);
  });
}

const summary = requestSummary;

function resumeTests(t: Test, server: RunningServer): void {
  /** A 16 MiB file whose put is stopped with Ctrl-C once 6 MiB went up. */
  async function interruptedPut(t: Test, username: string) {
    const user = await CliUser.registered(t, server.url, username);
    const digest = await writeRandomFile(join(user.home, 'backup.tar'), SIZE);
    const proxy = await startProxy(t, server.port);
    const stalled = proxy.stallUpload(6 * MIB);
    const put = await user.startVia(proxy.url, ['put', 'backup.tar'], TEST_SETTINGS);
    await stalled;
    put.child.kill('SIGINT');
    const interrupted = await put.result;
    t.equal(interrupted.code, 130, interrupted.stderr);
    t.same(
      summary(proxy).slice(0, 3),
      ['POST /cloud/my-drive/ 404', 'GET /cloud/drive-share/backup.tar/ 404', 'POST /cloud/uploads/ 201'],
      'claimed, asked whether it replaces a file, then a tus upload created',
    );
    t.equal((await uploadStates(user)).length, 1, 'what resumes it is kept');
    return { user, digest, proxy };
  }

  t.test('put stopped with Ctrl-C resumes at the next put: under 1.2x the file in all', async (t) => {
    const { user, digest, proxy } = await interruptedPut(t, 'alice');
    const upAtStop = proxy.bytesUp();
    const resumed = await user.runVia(proxy.url, ['put', 'backup.tar'], TEST_SETTINGS);
    t.equal(resumed.code, 0, resumed.stderr);
    t.match(resumed.stderr, /^resuming at \d+\.\d MiB of 16\.0 MiB$/m);
    t.equal(resumed.stdout, 'backup.tar: uploaded 16.0 MiB\n');
    const patches = proxy.requests.filter((request) => request.method === 'PATCH');
    t.equal(patches.length, 2);
    const offset = uploadOffsetOf(patches[1].headers);
    t.ok(offset > 0 && offset <= 6 * MIB, `the second PATCH starts at ${offset}`);
    t.same(summary(proxy).slice(-3), [
      'GET /cloud/drive-share/backup.tar/ 404',
      'HEAD /cloud/uploads/ID 200',
      'PATCH /cloud/uploads/ID 204',
    ]);
    t.ok(proxy.bytesUp() < 1.2 * SIZE, `${proxy.bytesUp()} bytes went up for a ${SIZE}-byte file (${upAtStop} before Ctrl-C)`);
    t.same(await uploadStates(user), [], 'the finished upload leaves no state');
    const back = await user.run(['get', 'backup.tar', '-o', 'back.tar']);
    t.equal(back.code, 0, back.stderr);
    t.equal(sha256(await readFile(join(user.home, 'back.tar'))), digest);
  });

  t.test('--no-resume discards the unfinished upload on the server and starts over', async (t) => {
    const { user, digest, proxy } = await interruptedPut(t, 'bob');
    const abandoned = proxy.requests.find((request) => request.method === 'PATCH')?.target;
    proxy.reset();
    const fresh = await user.runVia(proxy.url, ['put', 'backup.tar', '--no-resume', '--json'], TEST_SETTINGS);
    t.equal(fresh.code, 0, fresh.stderr);
    t.notMatch(fresh.stderr, /resuming/);
    t.same(summary(proxy), [
      'POST /cloud/my-drive/ 404',
      'GET /cloud/drive-share/backup.tar/ 404',
      'DELETE /cloud/uploads/ID 204',
      'POST /cloud/uploads/ 201',
      'PATCH /cloud/uploads/ID 204',
    ]);
    const [, , deleted, , patch] = proxy.requests;
    t.equal(deleted.target, abandoned, 'the interrupted upload is deleted on the server');
    t.not(patch.target, abandoned, 'a new upload');
    t.equal(uploadOffsetOf(patch.headers), 0, 'from the first byte');
    t.match(JSON.parse(fresh.stdout), {
      path: 'backup.tar',
      filename: 'backup.tar',
      sha256: digest,
      size: SIZE,
      deduplicated: false,
      replaced: false,
    });
    t.same(await uploadStates(user), []);
  });
}
