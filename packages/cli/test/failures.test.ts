import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { CliUser, jsonLines, PASSWORD } from './helpers/cli.js';
import { startServer } from './helpers/server.js';

const server = await startServer(t);

t.test('a login refused for too many failures exits 1 and says when to retry', async (t) => {
  await CliUser.registered(t, server.url, 'target');
  const attacker = await CliUser.create(t, server.url, 'attacker');
  for (let attempt = 0; attempt < 10; attempt += 1) {
    const wrong = await attacker.run(['login', 'target', '--password-stdin'], { input: `guess number ${attempt}` });
    t.equal(wrong.code, 3, `attempt ${attempt + 1} is a wrong password`);
  }
  const limited = await attacker.run(['login', 'target', '--password-stdin'], { input: PASSWORD });
  t.equal(limited.code, 1);
  t.match(limited.stderr, /^cloudstore: .*; retry in \d+ seconds\n$/);
});

t.test('the server goes away: every file fails with exit 1 and a line naming it', async (t) => {
  const alice = await CliUser.registered(t, server.url, 'alice');
  await writeFile(join(alice.home, 'a.txt'), 'a');
  await writeFile(join(alice.home, 'b.txt'), 'b');
  const token = await alice.token();
  const put = await alice.run(['put', 'a.txt', 'b.txt', '--json'], {
    env: { CLOUDSTORE_SERVER: 'http://127.0.0.1:9', CLOUDSTORE_TOKEN: token },
  });
  t.equal(put.code, 1);
  t.same(jsonLines(put.stdout), [
    { path: 'a.txt', error: { code: 'NETWORK_ERROR', message: 'cannot reach http://127.0.0.1:9: connection refused' }, exit: 1 },
    { path: 'b.txt', error: { code: 'NETWORK_ERROR', message: 'cannot reach http://127.0.0.1:9: connection refused' }, exit: 1 },
  ]);
  t.equal(
    put.stderr,
    'cloudstore: a.txt: cannot reach http://127.0.0.1:9: connection refused\ncloudstore: b.txt: cannot reach http://127.0.0.1:9: connection refused\n',
  );
  t.notMatch(put.stderr, /\n\s+at /, 'no stack trace');
});

t.test('an expired or revoked session is 3 on every command that needs one', async (t) => {
  const bob = await CliUser.create(t, server.url, 'bob');
  for (const args of [
    ['ls'],
    ['get', 'x'],
    ['rm', 'x'],
    ['share', 'x', 'y'],
    ['unshare', 'x', 'y'],
    ['transfer', 'x', 'y'],
    ['friends', 'x'],
    ['whoami'],
  ]) {
    const result = await bob.run(args, { env: { CLOUDSTORE_TOKEN: 'revoked.or.expired' } });
    t.equal(result.code, 3, args[0]);
  }
});

t.test('usage: unknown command or option 2, help and version 0, no stack trace', async (t) => {
  const judy = await CliUser.create(t, server.url, 'judy');
  const unknownCommand = await judy.run(['frobnicate']);
  t.equal(unknownCommand.code, 2);
  t.match(unknownCommand.stderr, /^cloudstore: unknown command 'frobnicate'/);
  const unknownOption = await judy.run(['whoami', '--frobnicate']);
  t.equal(unknownOption.code, 2);
  const missingArgument = await judy.run(['get']);
  t.equal(missingArgument.code, 2);
  const version = await judy.run(['--version']);
  t.equal(version.code, 0);
  t.match(version.stdout, /^cloudstore \d+\.\d+\.\d+\n$/);
  const versionAfter = await judy.run(['ls', '--version']);
  t.equal(versionAfter.stdout, version.stdout, '--version after the subcommand too');
  const help = await judy.run(['put', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--no-progress/);
  const unreachable = await judy.run(['login', 'judy', '--password-stdin', '--server', 'http://127.0.0.1:9'], { input: PASSWORD });
  t.equal(unreachable.code, 1);
  t.equal(unreachable.stderr, 'cloudstore: cannot reach http://127.0.0.1:9: connection refused\n');
  const debug = await judy.run(['login', 'judy', '--password-stdin', '--server', 'http://127.0.0.1:9'], {
    input: PASSWORD,
    env: { CLOUDSTORE_DEBUG: '1' },
  });
  t.match(debug.stderr, /\n\s+at /, 'a stack trace with CLOUDSTORE_DEBUG=1');
});
