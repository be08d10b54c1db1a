import t from 'tap';
import { forEachDatabase, startServer } from './helpers/build-app.js';
import { Client } from './helpers/client.js';
import { randomContent } from './helpers/content.js';
import { signUp } from './helpers/permits.js';

/** Names that MariaDB's default collation (accent-insensitive, PAD SPACE) took for `alice` and `bob`. */
const ALICE_LOOKALIKES = ['alicé', 'alice ', 'alíce', 'ALICE  '];
const BOB_LOOKALIKES = ['bób', 'bob ', 'böb', 'BOB  '];

forEachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind);
  const client = new Client(server.url);
  const alice = await signUp(client, 'alice');
  const bob = await signUp(client, 'bob');
  const content = randomContent(500);
  t.equal((await alice.drive.upload('notes.txt', content)).status, 201);
  t.equal((await alice.permits.share('notes.txt', 'bob')).status, 201);

  t.test('the lower-cased name finds the user, whatever its case', async (t) => {
    const download = await bob.drive.download('notes.txt', {}, 'ALICE');
    t.equal(download.status, 200);
    t.ok(download.raw.equals(content));
    t.equal((await client.login('Alice')).status, 200);
  });

  t.test('a look-alike name never finds alice', async (t) => {
    for (const name of ALICE_LOOKALIKES) {
      const download = await bob.drive.download('notes.txt', {}, name);
      t.equal(download.status, 404, `?owner=${JSON.stringify(name)}`);
      t.equal(download.body.code, 'FILE_NOT_FOUND');
      const login = await client.login(name);
      t.equal(login.status, 401, `login ${JSON.stringify(name)}`);
    }
    for (const name of BOB_LOOKALIKES) {
      const share = await alice.permits.share('notes.txt', name);
      t.equal(share.status, 404, `share recipient ${JSON.stringify(name)}`);
      t.equal(share.body.code, 'USER_NOT_FOUND');
    }
  });
});
