import { randomInt } from 'node:crypto';
import t from 'tap';
import { forEachDatabase } from './helpers/build-app.js';
import { startFileServer } from './helpers/file-server.js';
import { blobsOnDisk, proofDigest, randomContent, sha256Hex } from './helpers/content.js';
import { eventually, sleep } from './helpers/waiting.js';
import { Permits } from './helpers/permits.js';
import { referenceProblems } from './helpers/storage-state.js';

const RACES = 200;
const RACES_AT_ONCE = 4;

/** Runs `action` at once, or after a random 0 to 2 ms when `isDelayed`. */
const later = <T>(isDelayed: number, action: () => Promise<T>): Promise<T> => (isDelayed ? sleep(randomInt(3)).then(action) : action());

forEachDatabase(t, async (t, kind) => {
  // Claims by a second user need the first user's content to be disclosable to possessors.
  const {
    server,
    client,
    db,
    drives: [alice, bob],
  } = await startFileServer(t, kind, ['alice', 'bob'], { dedupThresholdMax: 1 });
  const isOnDisk = async (content: Buffer) => (await blobsOnDisk(server.dataDir)).includes(sha256Hex(content));

  t.test('the owner deletes by body or by query; then the name is free', async (t) => {
    await alice.upload('by-body.txt', randomContent(10));
    await alice.upload('by-query.txt', randomContent(10));
    const byBody = await alice.delete('by-body.txt');
    t.equal(byBody.status, 200);
    t.same(byBody.body, { filename: 'by-body.txt', deleted: true });
    const byQuery = await client.call('DELETE', '/cloud/my-drive/?filename=by-query.txt', { token: alice.token });
    t.same([byQuery.status, byQuery.body], [200, { filename: 'by-query.txt', deleted: true }]);
    const again = await alice.delete('by-body.txt');
    t.equal(again.status, 404);
    t.equal(again.body.code, 'FILE_NOT_FOUND');
    const noName = await client.call('DELETE', '/cloud/my-drive/', { token: alice.token });
    t.equal(noName.status, 400);
    t.equal(noName.body.code, 'VALIDATION_FAILED');
    t.equal((await alice.upload('by-body.txt', randomContent(10))).body.replaced, false, 'a new file of the old name');
  });

  t.test('a stranger gets 404, a friend 403, and every friend loses access with the file', async (t) => {
    await alice.upload('plan.txt', randomContent(100));
    const stranger = await bob.delete('plan.txt');
    t.same([stranger.status, stranger.body.code], [404, 'FILE_NOT_FOUND']);
    const strangerNamingOwner = await client.call('DELETE', '/cloud/my-drive/', {
      token: bob.token,
      json: { filename: 'plan.txt', owner: 'alice' },
    });
    t.same([strangerNamingOwner.status, strangerNamingOwner.body.code], [404, 'FILE_NOT_FOUND']);
    t.equal((await new Permits(client, alice.token).share('plan.txt', 'bob')).status, 201);
    const friend = await client.call('DELETE', '/cloud/my-drive/', { token: bob.token, json: { filename: 'plan.txt', owner: 'alice' } });
    t.same([friend.status, friend.body.code], [403, 'NOT_OWNER']);
    t.equal((await bob.download('plan.txt')).status, 200, 'the friend still reads it');
    t.equal((await alice.delete('plan.txt')).status, 200);
    t.equal((await bob.download('plan.txt')).status, 404, 'the friend lost access at once');
    await alice.upload('plan.txt', randomContent(100));
    t.equal((await bob.download('plan.txt', {}, 'alice')).status, 404, 'a new file of that name is not shared with the former friend');
  });

  t.test('deleting the last reference removes the content within 5 s', async (t) => {
    const content = randomContent(50_000);
    await alice.upload('last.bin', content);
    t.ok(await isOnDisk(content));
    t.equal((await alice.delete('last.bin')).status, 200);
    t.ok(await eventually(async () => !(await isOnDisk(content))), 'the blob file is gone');
    const claim = await bob.claim('last.bin', content);
    t.same([claim.status, claim.body.code], [404, 'CONTENT_UNKNOWN'], 'and it can no longer be claimed');
    t.same(await referenceProblems(server, db), []);
  });

  t.test('deleting one of two references keeps the content', async (t) => {
    const content = randomContent(50_000);
    await alice.upload('mine.bin', content);
    await bob.upload('mine-too.bin', content);
    await alice.upload('copy.bin', content);
    t.equal((await alice.delete('mine.bin')).status, 200);
    t.equal((await bob.delete('mine-too.bin')).status, 200);
    t.ok(await isOnDisk(content), 'still referenced by copy.bin');
    t.ok((await alice.download('copy.bin')).raw.equals(content));
    t.equal((await bob.claimWithProof('back.bin', content)).status, 201, 'and still claimable');
    t.same(await referenceProblems(server, db), []);
  });

  t.test(`${RACES} races of a delete against a claim of the same content leave no dangling reference`, async (t) => {
    const outcomes: Record<string, number> = {};
    const race = async (index: number) => {
      const content = randomContent(2048);
      await alice.upload(`race-${index}`, content);
      const { nonce, ranges } = await bob.challenge(`claimed-${index}`, content);
      const proof = { nonce, digest: proofDigest(nonce, ranges, content) };
      const deleting = () => alice.delete(`race-${index}`);
      const claiming = () => bob.claim(`claimed-${index}`, content, { proof });
      // Each starts first in half the races, the other after up to 2 ms: both orders get their turn.
      const [deleted, claimed] = await Promise.all([later(index % 2, deleting), later(1 - (index % 2), claiming)]);
      const outcome = `delete ${deleted.status}, claim ${claimed.status} ${claimed.body.code ?? ''}`.trim();
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      if (claimed.status === 201 && !(await bob.download(`claimed-${index}`)).raw.equals(content))
        t.fail(`race ${index}: claimed content unreadable`);
    };
    for (let first = 0; first < RACES; first += RACES_AT_ONCE) {
      await Promise.all(Array.from({ length: RACES_AT_ONCE }, (_, offset) => race(first + offset)));
    }
    t.comment(JSON.stringify(outcomes));
    const allowed = ['delete 200, claim 201', 'delete 200, claim 404 CONTENT_UNKNOWN'];
    t.same(
      Object.keys(outcomes).filter((outcome) => !allowed.includes(outcome)),
      [],
      'each race ends in a clean win',
    );
    t.same(await referenceProblems(server, db), [], 'every file has its blob, every blob counts its files');
  });
});
