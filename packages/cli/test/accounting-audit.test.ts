import t from 'tap';
import { DATABASES } from '@cloudstore/test-helpers';
import { CliUser, jsonLines, PASSWORD } from './helpers/cli.js';
import { databaseEnv, startServer } from './helpers/server.js';

for (const kind of DATABASES) {
  t.test(kind, async (t) => {
    const server = await startServer(t, { ...(await databaseEnv(t, kind)), QUOTA_BYTES: '100000', DEDUP_THRESHOLD_MAX: '1' });
    const [alice, bob] = await CliUser.registeredAll(t, server.url, 'alice', 'bob');
    const content = Buffer.alloc(3001, 'x');

    t.test('whoami: logical bytes, the share of storage after deduplication, the quota', async (t) => {
      await alice.upload('report.txt', content);
      await bob.upload('copy.txt', content);
      const json = await alice.run(['whoami', '--json']);
      t.equal(json.code, 0, json.stderr);
      t.same(jsonLines(json.stdout), [
        { username: 'alice', server: server.url, files: 1, bytes: 3001, logical_bytes: 3001, stored_bytes: 1501, quota_bytes: 100000 },
      ]);
      const human = await bob.run(['whoami']);
      t.equal(human.code, 0, human.stderr);
      t.equal(human.stdout, `bob on ${server.url}: 1 file, 2.9 KiB (1.5 KiB stored after deduplication), quota 97.7 KiB (3% used)\n`);
    });

    t.test('put over the quota: exit 1, a message naming the quota', async (t) => {
      await bob.run(['rm', 'copy.txt']);
      const big = await alice.run(['put', '-', '--name', 'big.bin'], { input: Buffer.alloc(100_000, 'y') });
      t.equal(big.code, 1);
      t.equal(
        big.stderr,
        'cloudstore: -: this upload would exceed the storage quota: 103001 bytes of files, over the quota of 100000 bytes; nothing was stored\n',
      );
      t.match(jsonLines((await alice.run(['whoami', '--json'])).stdout), [{ files: 1, logical_bytes: 3001, stored_bytes: 3001 }]);
    });

    t.test('log: the audit trail, newest first, as a table or NDJSON, with --limit', async (t) => {
      t.equal((await alice.run(['share', 'report.txt', 'bob'])).code, 0);
      const wrong = await CliUser.create(t, server.url, 'alice');
      t.equal((await wrong.run(['login', 'alice', '--password-stdin'], { input: 'not her password\n' })).code, 3);
      t.equal((await wrong.run(['login', 'alice', '--password-stdin'], { input: `${PASSWORD}\n` })).code, 0);

      const json = await alice.run(['log', '--json']);
      t.equal(json.code, 0, json.stderr);
      const events = jsonLines(json.stdout);
      t.same(
        events.map((event) => event.action),
        ['login', 'login_failed', 'share', 'login'],
        'newest first: her login from the other machine, the failed one, the share, her first login',
      );
      t.match(events[2], { action: 'share', actor: 'alice', address: '127.0.0.1', filename: 'report.txt', owner: 'alice', target: 'bob' });
      t.match(events[1], { action: 'login_failed', actor: null, address: '127.0.0.1', target: 'alice' });
      t.match(events[0].time, /^\d{4}-\d\d-\d\dT/);

      const limited = await alice.run(['log', '--json', '--limit', '2']);
      t.same(jsonLines(limited.stdout), events.slice(0, 2), '--limit 2: the two newest');

      const table = await alice.run(['log']);
      t.equal(table.code, 0, table.stderr);
      const lines = table.stdout.trimEnd().split('\n');
      t.equal(lines.length, 4, 'one line per event');
      t.match(lines[2], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}share +alice {2}127\.0\.0\.1 {2}'report\.txt' of alice with bob$/);
      t.match(lines[1], /login_failed +- +127\.0\.0\.1 {2}wrong password for alice$/);

      const bobLog = jsonLines((await bob.run(['log', '--json'])).stdout);
      t.same(
        bobLog.map((event) => event.action),
        ['share', 'delete', 'login'],
        "bob sees the share with him and his own actions, not alice's logins",
      );
      const usage = await alice.run(['log', '--limit', 'many']);
      t.equal(usage.code, 2, '--limit takes a whole number');
    });
  });
}
