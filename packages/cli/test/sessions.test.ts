import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { CliUser, jsonLines } from './helpers/cli.js';
import { startServer } from './helpers/server.js';

const server = await startServer(t);

t.test('the session goes to credentials.json, mode 0600 in a 0700 directory, keyed by origin', async (t) => {
  const bob = await CliUser.registered(t, server.url, 'bob');
  const file = join(bob.configDir, 'credentials.json');
  t.equal((await stat(file)).mode & 0o777, 0o600);
  t.equal((await stat(bob.configDir)).mode & 0o777, 0o700);
  const saved = JSON.parse(await readFile(file, 'utf8')) as {
    server: string;
    sessions: Record<string, { username: string; token: string }>;
  };
  t.equal(saved.server, server.url);
  t.equal(saved.sessions[server.url].username, 'bob');
  t.type(saved.sessions[server.url].token, 'string');

  // localhost is another origin: the token saved for 127.0.0.1 is not sent there.
  const elsewhere = await bob.run(['whoami', '--server', `http://localhost:${server.port}/`]);
  t.equal(elsewhere.code, 3);
  t.match(elsewhere.stderr, `not logged in to http://localhost:${server.port}`);
  // Upper case, a trailing slash and a path do not make another origin.
  const same = await bob.run(['whoami', '--server', `HTTP://127.0.0.1:${server.port}/some/path/`]);
  t.equal(same.code, 0, same.stderr);
});

t.test('global options are accepted before and after the subcommand', async (t) => {
  const carol = await CliUser.registered(t, server.url, 'carol');
  const unset = { CLOUDSTORE_SERVER: undefined };
  const after = await carol.run(['whoami', '--json', '--server', server.url], { env: unset });
  const before = await carol.run(['--json', '--server', server.url, 'whoami'], { env: unset });
  const mixed = await carol.run(['--server', server.url, 'whoami', '--json'], { env: unset });
  for (const result of [after, before, mixed]) {
    t.equal(result.code, 0, result.stderr);
    t.same(jsonLines(result.stdout), [
      { username: 'carol', server: server.url, files: 0, bytes: 0, logical_bytes: 0, stored_bytes: 0, quota_bytes: null },
    ]);
  }
  const quiet = await carol.run(['whoami', '--quiet']);
  t.equal(quiet.code, 0);
  t.equal(quiet.stdout, '');
  t.equal(quiet.stderr, '');
});

t.test('the server comes from --server, else CLOUDSTORE_SERVER, else the last login', async (t) => {
  const dave = await CliUser.registered(t, server.url, 'dave');
  const lastLogin = await dave.run(['whoami', '--json'], { env: { CLOUDSTORE_SERVER: undefined } });
  t.equal(lastLogin.code, 0, lastLogin.stderr);
  t.match(jsonLines(lastLogin.stdout)[0], { server: server.url });
  const unreachable = 'http://127.0.0.1:9';
  const fromEnvironment = await dave.run(['whoami'], { env: { CLOUDSTORE_SERVER: unreachable } });
  t.equal(fromEnvironment.code, 3, 'no session saved for that server');
  const optionWins = await dave.run(['whoami', '--server', server.url], { env: { CLOUDSTORE_SERVER: unreachable } });
  t.equal(optionWins.code, 0, optionWins.stderr);
  const badUrl = await dave.run(['whoami', '--server', 'ftp://example.com']);
  t.equal(badUrl.code, 2);
});

t.test('CLOUDSTORE_TOKEN serves scripts with no saved session', async (t) => {
  const ivan = await CliUser.registered(t, server.url, 'ivan');
  const file = join(ivan.configDir, 'credentials.json');
  const { token } = (JSON.parse(await readFile(file, 'utf8')) as { sessions: Record<string, { token: string }> }).sessions[server.url];
  const ci = await CliUser.create(t, server.url, 'ci');
  const whoami = await ci.run(['whoami', '--json'], { env: { CLOUDSTORE_TOKEN: token } });
  t.equal(whoami.code, 0, whoami.stderr);
  t.match(jsonLines(whoami.stdout), [{ username: 'ivan' }]);
  const bogus = await ci.run(['whoami'], { env: { CLOUDSTORE_TOKEN: 'not-a-token' } });
  t.equal(bogus.code, 3);
});
