import { createHmac } from 'node:crypto';
import t from 'tap';
import { SecretRepository } from '../src/repositories/secrets.js';
import { forEachDatabase, restartServer, startServer } from './helpers/build-app.js';
import { Client } from './helpers/client.js';
import { randomContent, sha256Hex } from './helpers/content.js';
import { Drive } from './helpers/drive.js';
import { openServerDatabase } from './helpers/storage-state.js';
import { eventually } from './helpers/waiting.js';

/** Small enough for few accounts, large enough that a threshold drawn afresh would likely move. */
const THRESHOLD_MAX = 6;

forEachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind, { dedupThresholdMax: THRESHOLD_MAX });
  const db = await openServerDatabase(t, server);
  let client = new Client(server.url);
  const owners: string[] = [];
  for (let index = 0; index < THRESHOLD_MAX; index++) owners.push(await client.user(`owner${index}`));
  const outsiderToken = await client.user('outsider');
  const contents = [randomContent(2000), randomContent(3000)];

  /**
   * As an attacker with free accounts would: owners store the content one after another, the
   * outsider asks after each; then every copy is deleted and the content is gone. Returns the
   * number of owners at which the outsider was first told the content is stored.
   */
  const disclosurePoint = async (content: Buffer): Promise<number> => {
    let point = 0;
    for (const [index, token] of owners.entries()) {
      t.equal((await new Drive(client, token).upload('guess.bin', content)).status, 201);
      const status = (await new Drive(client, outsiderToken).claim('guess.bin', content)).status;
      if (point === 0 && status === 428) point = index + 1;
      if (point === 0) t.equal(status, 404, 'CONTENT_UNKNOWN until the point');
    }
    for (const token of owners) t.equal((await new Drive(client, token).delete('guess.bin')).status, 200);
    const isGone = await eventually(async () => (await db('blobs').where('sha256', sha256Hex(content)).first()) === undefined);
    t.ok(isGone, 'the content is removed from storage');
    return point;
  };

  const secretRow = await db('server_secrets').where('name', 'disclosure').first();
  t.ok(secretRow, 'the key is kept in the database');
  const key = Buffer.from(String(secretRow.value), 'base64url');
  t.ok(key.length >= 32, 'a key of at least 256 bits');
  const expected = (content: Buffer) => {
    const mac = createHmac('sha256', key)
      .update(Buffer.from(sha256Hex(content), 'hex'))
      .digest('hex');
    return 2 + Number(BigInt(`0x${mac}`) % BigInt(THRESHOLD_MAX - 1));
  };

  const first: number[] = [];
  for (const content of contents) first.push(await disclosurePoint(content));
  t.same(first, contents.map(expected), 'T = 2 + HMAC(key, digest) mod (N - 1)');

  t.test('the key never appears in a response or in the columns of blobs', async (t) => {
    const replies = [await client.call('GET', '/docs/json'), await new Drive(client, outsiderToken).me()];
    for (const reply of replies) t.notMatch(reply.raw.toString(), String(secretRow.value));
    const columns = Object.keys(await db('blobs').columnInfo());
    t.notOk(columns.includes('disclosure_threshold'), 'no threshold is stored per blob');
  });

  t.test('stored again, the content keeps its disclosure point', async (t) => {
    for (const [index, content] of contents.entries()) t.equal(await disclosurePoint(content), first[index]);
  });

  t.test('after a restart, the key and every point are the same', async (t) => {
    await server.app.close();
    client = new Client((await restartServer(t, server)).url);
    for (const [index, content] of contents.entries()) t.equal(await disclosurePoint(content), first[index]);
    t.equal(Number((await db('server_secrets').count({ count: '*' }).first())?.count), 1, 'one key');
    t.equal(String((await db('server_secrets').where('name', 'disclosure').first()).value), String(secretRow.value));
  });

  t.test('two instances that make a secret at once agree on it', async (t) => {
    const other = await openServerDatabase(t, server);
    const values = await Promise.all(
      [db, other].map((handle, index) => new SecretRepository(handle).getOrCreate('race', () => `value-${index}`)),
    );
    t.equal(values[0], values[1]);
  });
});
