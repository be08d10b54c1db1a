import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { CliUser, jsonLines, PASSWORD } from './helpers/cli.js';
import { startServer } from './helpers/server.js';

const server = await startServer(t);

t.test('register logs in, whoami tells who and where, in text and in JSON', async (t) => {
  const alice = await CliUser.create(t, server.url, 'alice');
  const registered = await alice.run(['register', 'alice', '--password-stdin'], { input: `${PASSWORD}\n` });
  t.equal(registered.code, 0, registered.stderr);
  t.match(registered.stdout, /registered alice on http:\/\/127\.0\.0\.1:\d+, and logged in/);
  t.match(registered.stderr, /no system keychain: the session is saved in .*credentials\.json \(mode 0600\)\n$/);
  t.equal(registered.stderr.split('\n').length, 2, 'the keychain notice is one line');

  const whoami = await alice.run(['whoami']);
  t.equal(whoami.code, 0, whoami.stderr);
  t.equal(whoami.stdout, `alice on ${server.url}: 0 files, 0 B (0 B stored after deduplication), no quota\n`);

  const json = await alice.run(['whoami', '--json']);
  t.same(jsonLines(json.stdout), [
    { username: 'alice', server: server.url, files: 0, bytes: 0, logical_bytes: 0, stored_bytes: 0, quota_bytes: null },
  ]);
});

t.test('login: right password 0, wrong password or unknown user 3, no password source 2', async (t) => {
  await CliUser.registered(t, server.url, 'erin');
  const laptop = await CliUser.create(t, server.url, 'erin');
  const wrong = await laptop.run(['login', 'erin', '--password-stdin'], { input: 'not the password\n' });
  t.equal(wrong.code, 3);
  t.equal(wrong.stderr, 'cloudstore: wrong username or password\n');
  const unknown = await laptop.run(['login', 'nobody-here', '--password-stdin'], { input: `${PASSWORD}\n` });
  t.equal(unknown.code, 3);
  const noTerminal = await laptop.run(['login', 'erin']);
  t.equal(noTerminal.code, 2);
  t.match(noTerminal.stderr, /use --password-stdin/);
  const right = await laptop.run(['login', 'erin', '--password-stdin', '--json'], { input: `${PASSWORD}\r\n` });
  t.equal(right.code, 0, right.stderr);
  t.match(jsonLines(right.stdout), [{ username: 'erin', server: server.url, expires_in: Number }]);
  t.equal((await laptop.run(['whoami'])).code, 0);
});

t.test('register: a taken name is 6, an invalid one 2', async (t) => {
  await CliUser.registered(t, server.url, 'frank');
  const other = await CliUser.create(t, server.url, 'frank');
  const taken = await other.run(['register', 'FRANK', '--password-stdin'], { input: `${PASSWORD}\n` });
  t.equal(taken.code, 6);
  t.match(taken.stderr, /taken/);
  const invalid = await other.run(['register', 'a b', '--password-stdin'], { input: `${PASSWORD}\n` });
  t.equal(invalid.code, 2);
  const short = await other.run(['register', 'frank2', '--password-stdin'], { input: 'short\n' });
  t.equal(short.code, 2);
  const noName = await other.run(['register', '--password-stdin'], { input: `${PASSWORD}\n` });
  t.equal(noName.code, 2, 'no username and no terminal to ask on');
});

t.test('logout revokes the token on the server and forgets it here', async (t) => {
  const grace = await CliUser.registered(t, server.url, 'grace');
  const file = join(grace.configDir, 'credentials.json');
  const { token } = (JSON.parse(await readFile(file, 'utf8')) as { sessions: Record<string, { token: string }> }).sessions[server.url];
  const logout = await grace.run(['logout']);
  t.equal(logout.code, 0, logout.stderr);
  t.equal(logout.stdout, `logged out of ${server.url}\n`);
  t.notMatch(await readFile(file, 'utf8'), token);
  t.equal((await grace.run(['whoami'])).code, 3, 'forgotten here');
  const revoked = await grace.run(['whoami'], { env: { CLOUDSTORE_TOKEN: token } });
  t.equal(revoked.code, 3, 'revoked on the server');
  t.match(revoked.stderr, /^cloudstore: CLOUDSTORE_TOKEN is not a valid token for .* \(expired, revoked or mistyped\)/);
  const again = await grace.run(['logout']);
  t.equal(again.code, 0);
  t.match(again.stderr, /not logged in/);
});

t.test('logout forgets the session even when the server cannot be reached', async (t) => {
  const heidi = await CliUser.registered(t, server.url, 'heidi');
  const file = join(heidi.configDir, 'credentials.json');
  const saved = JSON.parse(await readFile(file, 'utf8')) as { sessions: Record<string, unknown> };
  const offline = 'http://127.0.0.1:9';
  saved.sessions[offline] = saved.sessions[server.url];
  await writeFile(file, JSON.stringify(saved), { mode: 0o600 });
  const logout = await heidi.run(['logout', '--server', offline]);
  t.equal(logout.code, 0);
  t.match(
    logout.stderr,
    /could not end the session \(cannot reach http:\/\/127\.0\.0\.1:9: connection refused\); forgetting it here anyway/,
  );
  t.equal((await heidi.run(['whoami', '--server', offline])).code, 3);
});
