import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Config } from '../src/config.js';
import { Client } from './helpers/client.js';
import { createTestDatabase } from '@cloudstore/test-helpers';
import { runProcess } from '@cloudstore/test-helpers/run-process';
import { forEachDatabase, startServer, startServerOn } from './helpers/build-app.js';

const userScript = fileURLToPath(new URL('../src/scripts/user.js', import.meta.url));

/** `pnpm user add NAME` as the operator runs it, against the test's database. */
function userAdd(database: Pick<Config, 'dataDir' | 'databaseUrl'>, args: string[], input?: string) {
  return runProcess(process.execPath, [userScript, ...args], {
    cwd: database.dataDir,
    env: { PATH: process.env.PATH, DATA_DIR: database.dataDir, ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}) },
    input,
  });
}

forEachDatabase(t, async (t, kind) => {
  t.test('REGISTER_LIMIT: registrations sent at once make no more accounts than the limit', async (t) => {
    const server = await startServer(t, kind, { trustProxy: 1, registerLimit: 3 });
    const client = new Client(server.url);
    const from = (address: string) => ({ 'x-forwarded-for': address });
    const register = (username: string, address: string) =>
      client.call('POST', '/register', { json: { username, password: 'a good password' }, headers: from(address) });
    t.equal((await register('first', '192.0.2.1')).status, 201);
    t.equal((await register('first', '192.0.2.1')).status, 409, 'a taken name makes no account and is not counted');
    const replies = await Promise.all(Array.from({ length: 8 }, (_, index) => register(`crowd${index}`, '192.0.2.1')));
    t.equal(replies.filter((reply) => reply.status === 201).length, 2, 'two more accounts: three in the hour');
    const limited = replies.filter((reply) => reply.status === 429);
    t.equal(limited.length, 6);
    t.ok(limited.every((reply) => reply.body.code === 'RATE_LIMITED'));
    const retryAfter = Number(limited[0].headers['retry-after']);
    t.ok(retryAfter > 3500 && retryAfter <= 3600, `Retry-After ${retryAfter}: the oldest registration leaving the hour`);
    t.equal((await register('elsewhere', '192.0.2.2')).status, 201, 'another address is not limited');
    t.equal((await client.login('first', 'a good password')).status, 200);
  });

  t.test('REGISTRATION=closed: 403 for everyone; the operator adds users with `pnpm user add`', async (t) => {
    const database = await createTestDatabase(t, kind);
    const added = await userAdd(database, ['add', 'Operator'], 'operator password\n');
    t.equal(added.code, 0, added.stderr);
    t.equal(added.stdout, 'created user Operator\n', 'a piped password is not printed');
    const generated = await userAdd(database, ['add', 'helper']);
    t.equal(generated.code, 0, generated.stderr);
    const password = /^password: (\S+)$/m.exec(generated.stdout)?.[1];
    t.ok(password && password.length >= 16, 'a generated password is printed once');
    const taken = await userAdd(database, ['add', 'operator'], 'another password\n');
    t.equal(taken.code, 1);
    t.equal(taken.stderr, "cloudstore: the username 'operator' is taken\n", 'the rules and messages of /register');
    const badName = await userAdd(database, ['add', 'no spaces allowed'], 'a fine password\n');
    t.equal(badName.code, 1);
    t.match(badName.stderr, /^cloudstore: username must be 3 to 32 characters/);
    const shortPassword = await userAdd(database, ['add', 'shorty'], 'short\n');
    t.equal(shortPassword.code, 1);
    t.match(shortPassword.stderr, /^cloudstore: password must be 8 to 1024 characters/);
    t.equal((await userAdd(database, ['remove', 'operator'])).code, 2);

    const client = new Client((await startServerOn(t, kind, database, { registration: 'closed' })).url);
    const refused = await client.register('newcomer', 'newcomer password');
    t.equal(refused.status, 403);
    t.equal(refused.body.code, 'REGISTRATION_CLOSED');
    t.equal((await client.login('newcomer', 'newcomer password')).status, 401, 'no account was made');
    t.equal((await client.login('operator', 'operator password')).status, 200);
    t.equal((await client.login('helper', password!)).status, 200);
  });
});
