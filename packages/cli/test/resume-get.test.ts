import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CliUser } from './helpers/cli.js';
import { startProxy } from './helpers/proxy.js';
import { databaseEnv, startServer, type DatabaseKind, type RunningServer } from './helpers/server.js';

const MIB = 1024 * 1024;
const SIZE = 8 * MIB;
/** Retry waits of 10 ms instead of seconds: the tries and their order are what is tested. */
const FAST_RETRIES = { CLOUDSTORE_TEST_RETRY_SECOND_MS: '10' };

// get's resume rests on the server's Range and If-Match: it runs against both databases.
for (const kind of ['sqlite', 'mysql'] as DatabaseKind[]) {
  t.test(kind, async (t) => {
    const server = await startServer(t, await databaseEnv(t, kind));
    resumeTests(t, server);
  });
}

function resumeTests(t: Test, server: RunningServer): void {
  /** A user with an 8 MiB file on the server, and a proxy that cuts its first 5 downloads after 1 MiB each. */
  async function interruptedDownload(t: Test, username: string) {
    const user = await CliUser.registered(t, server.url, username);
    const content = randomBytes(SIZE);
    await mkdir(join(user.home, 'uploads'));
    await writeFile(join(user.home, 'uploads', 'film.mkv'), content);
    const put = await user.run(['put', join('uploads', 'film.mkv')]);
    t.equal(put.code, 0, put.stderr);
    const proxy = await startProxy(t, server.port);
    proxy.cutDownloads({ afterBytes: MIB, times: 5 });
    const cut = await user.runVia(proxy.url, ['get', 'film.mkv'], { env: FAST_RETRIES });
    return { user, content, proxy, cut };
  }

  const partOf = (user: CliUser) => join(user.home, 'film.mkv.cloudstore-part');

  t.test('a download cut 5 times is retried, then resumed by the next get: under 1.2x the file in all', async (t) => {
    const { user, content, proxy, cut } = await interruptedDownload(t, 'alice');
    t.equal(cut.code, 1, 'five cuts in a row: the tries are used up');
    const retries = cut.stderr.match(/trying again in \d+m?s \(try \d of 5\)/g) ?? [];
    t.same(
      retries.map((line) => /try (\d)/.exec(line)?.[1]),
      ['2', '3', '4', '5'],
      cut.stderr,
    );
    t.match(cut.stderr, /^cloudstore: film\.mkv: cannot reach .*: /m);
    const ranges = proxy.requests
      .filter((request) => request.method === 'GET')
      .map((request) => /\r\nrange: (.*)/i.exec(request.headers)?.[1]);
    t.equal(ranges[0], undefined, 'the first try asks for the whole file');
    t.ok(
      ranges.slice(1).every((range) => range && /^bytes=\d+-$/.test(range)),
      `each retry continues the part: ${ranges.join(', ')}`,
    );
    const partSize = (await stat(partOf(user))).size;
    t.ok(partSize >= 4 * MIB && partSize < SIZE, `the part holds ${partSize} bytes`);
    t.notOk(await stat(join(user.home, 'film.mkv')).catch(() => undefined), 'no file under the target name yet');

    const resumed = await user.runVia(proxy.url, ['get', 'film.mkv'], { env: FAST_RETRIES });
    t.equal(resumed.code, 0, resumed.stderr);
    t.match(resumed.stderr, /^resuming at \d+\.\d MiB of 8.0 MiB$/m);
    t.equal(resumed.stdout, 'film.mkv: saved 8.0 MiB to film.mkv\n');
    const last = proxy.requests.at(-1);
    t.match(last?.headers, new RegExp(`\\r\\nrange: bytes=${partSize}-`, 'i'));
    t.match(last?.headers, /\r\nif-match: "[0-9a-f]{64}"/i);
    t.equal(last?.status, 206);
    t.ok((await readFile(join(user.home, 'film.mkv'))).equals(content), 'the whole file, byte for byte');
    t.ok(proxy.bytesDown() < 1.2 * SIZE, `${proxy.bytesDown()} bytes came down for a ${SIZE}-byte file`);
    t.same(
      (await readdir(user.home)).filter((name) => name.includes('cloudstore-part')),
      [],
      'the part file became the file',
    );
    t.same(await readdir(join(user.home, '.local', 'state', 'cloudstore', 'downloads')), [], 'its resume record is gone');
  });

  t.test(
    'a corrupted part is caught by the whole-file digest (exit 7); a file replaced since the part was saved starts over (412)',
    async (t) => {
      const { user, content, proxy, cut } = await interruptedDownload(t, 'bob');
      t.equal(cut.code, 1);
      const part = await open(partOf(user), 'r+');
      await part.write(Buffer.from([content[1000] ^ 0xff]), 0, 1, 1000);
      await part.close();

      const caught = await user.runVia(proxy.url, ['get', 'film.mkv']);
      t.equal(caught.code, 7, caught.stderr);
      t.match(caught.stderr, /^resuming at /m, 'the damage is in the part, before the bytes fetched now');
      t.match(caught.stderr, "cloudstore: film.mkv: the downloaded bytes do not match the server's SHA-256: nothing was saved");
      t.notOk(await stat(join(user.home, 'film.mkv')).catch(() => undefined), 'nothing saved');
      t.notOk(await stat(partOf(user)).catch(() => undefined), 'the bad part is removed, so that the next get starts over');

      proxy.cutDownloads({ afterBytes: MIB, times: 5 });
      t.equal((await user.runVia(proxy.url, ['get', 'film.mkv'], { env: FAST_RETRIES })).code, 1, 'a new part, cut again');
      const replacement = randomBytes(3 * MIB);
      await writeFile(join(user.home, 'uploads', 'film.mkv'), replacement);
      t.equal((await user.run(['put', join('uploads', 'film.mkv')])).code, 0);

      const again = await user.runVia(proxy.url, ['get', 'film.mkv']);
      t.equal(again.code, 0, again.stderr);
      t.match(again.stderr, 'film.mkv changed on the server since the partial download: starting over');
      t.notMatch(again.stderr, /resuming at/);
      t.ok((await readFile(join(user.home, 'film.mkv'))).equals(replacement), 'the new content, none of the old part');
    },
  );
}
