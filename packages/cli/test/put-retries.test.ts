import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CliUser } from './helpers/cli.js';
import { sha256, writeRandomFile } from './helpers/files.js';
import { startProxy } from './helpers/proxy.js';
import { MIB, RESUMABLE_TEST_SETTINGS, requestSummary, uploadOffsetOf, uploadStates } from './helpers/resumable.js';
import { databaseEnv, startServer, type DatabaseKind, type RunningServer } from './helpers/server.js';

const SIZE = 16 * MIB;
const CUT_AFTER = 4 * MIB;
const TEST_SETTINGS = RESUMABLE_TEST_SETTINGS;
const summary = requestSummary;

// Large puts within one run: the tus routes, on both databases. (Resuming in a later run: resume-put.test.ts.)
for (const kind of ['sqlite', 'mysql'] as DatabaseKind[]) {
  t.test(kind, async (t) => {
    const server = await startServer(t, await databaseEnv(t, kind));
    retryTests(t, server);
  });
}

function retryTests(t: Test, server: RunningServer): void {
  t.test('a network cut mid-put is retried from the server offset, without Ctrl-C or a second run', async (t) => {
    const user = await CliUser.registered(t, server.url, 'carol');
    const digest = await writeRandomFile(join(user.home, 'disk.img'), SIZE);
    const proxy = await startProxy(t, server.port);
    proxy.cutUploads({ afterBytes: CUT_AFTER, times: 2 });
    const put = await user.runVia(proxy.url, ['put', 'disk.img'], TEST_SETTINGS);
    t.equal(put.code, 0, put.stderr);
    // Two cuts, so two retries at least; a busy machine may add one (a kept-alive connection
    // the proxy had already closed), which must continue where the server is all the same.
    const retries = (put.stderr.match(/trying again in \d+m?s \(try \d of 5\)/g) ?? []).length;
    t.ok(retries >= 2 && retries <= 3, `${retries} retries: ${put.stderr}`);
    const patches = proxy.requests.filter((request) => request.method === 'PATCH').map((request) => uploadOffsetOf(request.headers));
    t.ok(patches.length >= 3 && patches.length <= retries + 1, `${patches.length} PATCHes for ${retries} retries`);
    t.ok(
      patches[0] === 0 && patches.every((offset, index) => index === 0 || offset >= patches[index - 1]),
      `each try continues where the server is: ${patches.join(', ')}`,
    );
    // A cut PATCH may lose what the server had received but not yet made durable, never more:
    // at most the file once, plus a cut body per retry, plus requests' heads.
    const bound = SIZE + retries * CUT_AFTER + 64 * 1024;
    t.ok(proxy.bytesUp() < bound, `${proxy.bytesUp()} bytes went up for a ${SIZE}-byte file (bound ${bound})`);
    const back = await user.run(['get', 'disk.img', '-o', '-']);
    t.equal(sha256(back.stdoutBytes), digest);
  });

  t.test(
    'below the threshold the raw route, as before; abandoned records removed; a duplicate of a large file sends no bytes',
    async (t) => {
      const user = await CliUser.registered(t, server.url, 'dave');
      await writeRandomFile(join(user.home, 'small.bin'), 7 * MIB);
      await writeRandomFile(join(user.home, 'large.bin'), SIZE);
      const proxy = await startProxy(t, server.port);
      t.equal((await user.runVia(proxy.url, ['put', 'small.bin'], TEST_SETTINGS)).code, 0);
      t.same(summary(proxy), [
        'POST /cloud/my-drive/ 404',
        'POST /cloud/my-drive/?filename=small.bin&content_type=application%2Foctet-stream 201',
      ]);
      // A record nobody came back to for two days: the server has forgotten that upload.
      const states = join(user.home, '.local', 'state', 'cloudstore', 'uploads');
      await mkdir(states, { recursive: true });
      await writeFile(join(states, 'abandoned.json'), '{"location":"/cloud/uploads/gone","size":1,"sha256":"00"}');
      const twoDaysAgo = new Date(Date.now() - 48 * 3600 * 1000);
      await utimes(join(states, 'abandoned.json'), twoDaysAgo, twoDaysAgo);
      t.equal((await user.runVia(proxy.url, ['put', 'large.bin'], TEST_SETTINGS)).code, 0);
      t.same(await uploadStates(user), [], 'the abandoned record is removed, the finished one too');
      proxy.reset();
      const again = await user.runVia(proxy.url, ['put', 'large.bin', '--name', 'copy.bin'], TEST_SETTINGS);
      t.equal(again.stdout, 'copy.bin: deduplicated, nothing uploaded (16.0 MiB)\n');
      t.ok(proxy.bytesUp() < 128 * 1024, `${proxy.bytesUp()} bytes went up`);
    },
  );
}
