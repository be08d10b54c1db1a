import t from 'tap';
import { openDatabase } from '../src/db/open.js';
import { UserRepository } from '../src/repositories/users.js';
import { Client } from './helpers/client.js';
import { forEachDatabase, startServer } from './helpers/build-app.js';

/** Made by the `argon2` package that hashed passwords before (its defaults: 64 MiB, 3 passes, 4 lanes). */
const EARLIER_HASH = '$argon2id$v=19$m=65536,p=4,t=3$xrnviocTofduwKKjfWOJgg$0kMpS1aEcjFvTIKd90vdMR3UEyX0x2y2MHF6Ujy5vew';
const EARLIER_PASSWORD = 'legacy password 1';

forEachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind);
  const db = await openDatabase(server.config);
  t.teardown(() => db.destroy());
  const users = new UserRepository(db);
  await users.create('old-timer', EARLIER_HASH, Date.now());
  const client = new Client(server.url);

  t.equal((await client.login('old-timer', 'not the password')).status, 401);
  t.equal((await client.login('old-timer', EARLIER_PASSWORD)).status, 200, 'a hash of the earlier library still verifies');
  const renewed = (await users.findByName('old-timer'))!.password_hash;
  t.match(renewed, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/, 'and is replaced at the current cost on that login');
  t.equal((await client.login('old-timer', EARLIER_PASSWORD)).status, 200, 'the new hash verifies');
  t.equal((await users.findByName('old-timer'))!.password_hash, renewed, 'and is kept');

  const long = 'x'.repeat(100);
  await client.register('long-password', long);
  t.equal((await client.login('long-password', 'x'.repeat(99) + 'y')).status, 401, 'every byte counts (no 72-byte truncation)');
  t.equal((await client.login('long-password', long)).status, 200);
});
