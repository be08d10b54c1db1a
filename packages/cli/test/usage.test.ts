import t from 'tap';
import { CliUser, jsonLines } from './helpers/cli.js';
import { startServer } from './helpers/server.js';

const server = await startServer(t);
const UNREACHABLE = 'http://127.0.0.1:9';
const POINTER = "run 'cloudstore --help' (or 'cloudstore COMMAND --help')\n";

t.test('-V prints the version, like --version', async (t) => {
  const user = await CliUser.create(t, server.url, 'nobody');
  const short = await user.run(['-V']);
  t.equal(short.code, 0);
  t.match(short.stdout, /^cloudstore \d+\.\d+\.\d+\n$/);
  t.equal((await user.run(['--version'])).stdout, short.stdout);
});

t.test('a mistyped command: did you mean, and where the help is', async (t) => {
  const user = await CliUser.create(t, server.url, 'nobody');
  const typo = await user.run(['lss']);
  t.equal(typo.code, 2);
  t.equal(typo.stdout, '');
  t.equal(typo.stderr, `cloudstore: unknown command 'lss'\n(Did you mean ls?)\n${POINTER}`);

  const badOption = await user.run(['ls', '--bogus']);
  t.equal(badOption.code, 2);
  t.equal(badOption.stderr, "cloudstore: unknown option '--bogus'\nrun 'cloudstore ls --help' for its usage\n");

  const ownCheck = await user.run(['put', 'a', 'b', '--name', 'c']);
  t.equal(ownCheck.code, 2, "the CLI's own usage checks point there too");
  t.equal(ownCheck.stderr, "cloudstore: --name names one file: give a single path with it\nrun 'cloudstore put --help' for its usage\n");
});

t.test('--json: every failure has its JSON line on standard output', async (t) => {
  const user = await CliUser.create(t, server.url, 'nobody');
  const usage = await user.run(['--json', 'lss']);
  t.equal(usage.code, 2);
  t.same(jsonLines(usage.stdout), [{ error: { code: 'USAGE', message: "unknown command 'lss' (Did you mean ls?)" }, exit: 2 }]);
  const optionAfter = await user.run(['ls', '--owned', '--shared', '--json']);
  t.same(jsonLines(optionAfter.stdout), [
    { error: { code: 'USAGE', message: "option '--owned' cannot be used with option '--shared'" }, exit: 2 },
  ]);
  const noCommand = await user.run(['--json']);
  t.equal(noCommand.code, 2);
  t.same(jsonLines(noCommand.stdout), [{ error: { code: 'USAGE', message: 'a command is needed' }, exit: 2 }]);

  const notLoggedIn = await user.run(['whoami', '--json']);
  t.equal(notLoggedIn.code, 3);
  t.same(jsonLines(notLoggedIn.stdout), [
    { error: { code: 'NOT_LOGGED_IN', message: `not logged in to ${server.url}: run 'cloudstore login' first` }, exit: 3 },
  ]);

  for (const command of ['ls', 'whoami']) {
    const offline = await user.run([command, '--json'], { env: { CLOUDSTORE_SERVER: UNREACHABLE, CLOUDSTORE_TOKEN: 'some.token' } });
    t.equal(offline.code, 1, command);
    t.same(jsonLines(offline.stdout), [
      { error: { code: 'NETWORK_ERROR', message: `cannot reach ${UNREACHABLE}: connection refused` }, exit: 1 },
    ]);
    t.equal(offline.stderr, `cloudstore: cannot reach ${UNREACHABLE}: connection refused\n`);
  }
});

t.test('a refused token is named by where it came from', async (t) => {
  const user = await CliUser.create(t, server.url, 'nobody');
  const fromEnvironment = await user.run(['ls'], { env: { CLOUDSTORE_TOKEN: 'not-a-real-token' } });
  t.equal(fromEnvironment.code, 3);
  t.equal(
    fromEnvironment.stderr,
    `cloudstore: CLOUDSTORE_TOKEN is not a valid token for ${server.url} (expired, revoked or mistyped): set a current one, or unset it and run 'cloudstore login'\n`,
  );
  t.notMatch(fromEnvironment.stderr, /cookie|Authorization/);

  const alice = await CliUser.registered(t, server.url, 'alice');
  const ended = await user.run(['logout'], { env: { CLOUDSTORE_TOKEN: await alice.token() } });
  t.equal(ended.code, 0, 'the session ends on the server, from another machine');
  const stale = await alice.run(['get', 'x', '--json']);
  t.equal(stale.code, 3);
  const message = `the session saved for ${server.url} is no longer valid (expired or ended): run 'cloudstore login'`;
  t.same(jsonLines(stale.stdout), [{ filename: 'x', error: { code: 'UNAUTHENTICATED', message }, exit: 3 }]);
  t.equal(stale.stderr, `cloudstore: x: ${message}\n`);
});
