import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { forEachDatabase, startServer, type TestServer } from './helpers/build-app.js';
import { Client } from './helpers/client.js';
import { randomContent } from './helpers/content.js';
import { Drive } from './helpers/drive.js';

const ADMIN_SCRIPT = fileURLToPath(new URL('../src/scripts/admin.js', import.meta.url));

/** `pnpm admin stats` as the operator runs it (without the build): its own process, the server's settings. */
async function admin(t: Parameters<typeof startServer>[0], server: TestServer, args: string[]) {
  // A working directory of its own: no .env of the repository's is read.
  const cwd = await mkdtemp(path.join(tmpdir(), 'cloudstore-admin-'));
  t.teardown(() => rm(cwd, { recursive: true, force: true }));
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', DATA_DIR: server.dataDir };
  if (server.config.jwtSecret) env.JWT_SECRET = server.config.jwtSecret;
  if (server.config.databaseUrl) env.DATABASE_URL = server.config.databaseUrl;
  return promisify(execFile)(process.execPath, [ADMIN_SCRIPT, ...args], { cwd, env });
}

forEachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind, { dedupThresholdMax: 1 });
  const client = new Client(server.url);
  const [alice, bob] = [await Drive.register(client, 'alice'), await Drive.register(client, 'bob')];
  await Drive.register(client, 'carol');

  t.test('an empty server: no ratio to tell', async (t) => {
    const { stdout } = await admin(t, server, ['stats', '--json']);
    t.same(JSON.parse(stdout), { users: 3, files: 0, contents: 0, logical_bytes: 0, physical_bytes: 0, deduplication_ratio: null });
  });

  t.test('users, files, contents, logical and physical bytes, the deduplication ratio', async (t) => {
    const shared = randomContent(4000);
    t.equal((await alice.upload('a.bin', shared)).status, 201);
    t.equal((await alice.upload('a-again.bin', shared)).status, 201);
    t.equal((await bob.claimWithProof('b.bin', shared)).status, 201);
    t.equal((await bob.upload('own.bin', randomContent(1000))).status, 201);
    const { stdout } = await admin(t, server, ['stats', '--json']);
    t.same(JSON.parse(stdout), { users: 3, files: 4, contents: 2, logical_bytes: 13000, physical_bytes: 5000, deduplication_ratio: 2.6 });
    const human = await admin(t, server, ['stats']);
    t.match(
      human.stdout,
      /^users +3\nfiles +4\ncontents +2 .*\nlogical bytes +13000 .*\nphysical bytes +5000 .*\ndeduplication +2\.60x \(8000 bytes saved\)\n$/,
    );
  });

  t.test('wrong usage: exit 2 and the usage line', async (t) => {
    const failed = await admin(t, server, ['statistics']).catch((error: { code: number; stderr: string }) => error);
    t.match(failed, { code: 2, stderr: /usage: pnpm admin stats \[--json\]/ });
  });
});
