import { Readable } from 'node:stream';
import { ROUTES } from '@cloudstore/shared';
import t from 'tap';
import { accountingTests, me } from './helpers/accounting.js';
import { forEachDatabase, startServer } from './helpers/build-app.js';
import { Client } from './helpers/client.js';
import { proofDigest, randomContent } from './helpers/content.js';
import { signUp } from './helpers/permits.js';
import { postHeadOnly } from './helpers/raw-http.js';
import { assertNothingLeft, openServerDatabase, referenceProblems, storageState } from './helpers/storage-state.js';

forEachDatabase(t, async (t, kind) => {
  t.test('accounting on the file store', async (t) => {
    const server = await startServer(t, kind, { dedupThresholdMax: 1 });
    await accountingTests(t, server, true);
  });

  t.test('quota: refused with 507 naming the quota, nothing lost', async (t) => {
    const quota = 10_000;
    const server = await startServer(t, kind, { dedupThresholdMax: 1, quotaBytes: quota });
    const db = await openServerDatabase(t, server);
    const client = new Client(server.url);
    const [alice, bob] = [await signUp(client, 'alice'), await signUp(client, 'bob')];
    const kept = randomContent(6000);
    t.equal((await alice.drive.upload('kept.bin', kept)).status, 201);
    t.match(await me(alice), { logical_bytes: 6000, quota_bytes: quota });
    const before = await storageState(server, db);
    const refused = (reply: { status: number; body: any }, what: string) => {
      t.equal(reply.status, 507, what);
      t.equal(reply.body.code, 'INSUFFICIENT_STORAGE');
      t.match(reply.body.message, /quota/);
    };

    const head = await postHeadOnly(server.url, `${ROUTES.myDrive}?filename=big.bin`, {
      authorization: `Bearer ${alice.drive.token}`,
      'content-type': 'application/octet-stream',
      'content-length': 5000,
    });
    refused(head, 'raw: refused on its Content-Length, before a byte of the body');
    refused(await alice.drive.upload('big.bin', Readable.from([randomContent(2500), randomContent(2500)])), 'raw, chunked: when recorded');
    refused(await alice.drive.uploadForm('big.bin', randomContent(5000)), 'multipart');
    refused(await alice.drive.claim('big.bin', kept), 'claim: before any challenge');
    await assertNothingLeft(t, server, db, before, 'the refusals');
    t.match(await me(alice), { files: 1, logical_bytes: 6000 });
    t.ok((await alice.drive.download('kept.bin')).raw.equals(kept), 'the file is untouched');

    const replacing = randomContent(9000);
    t.equal((await alice.drive.upload('kept.bin', replacing)).status, 201, 'replacing counts the replaced file as freed');
    t.match(await me(alice), { files: 1, logical_bytes: 9000 });
    refused(await alice.drive.upload('kept.bin', randomContent(quota + 1)), 'a replacement larger than the quota');
    t.ok((await alice.drive.download('kept.bin')).raw.equals(replacing), 'the replaced content is still there');

    t.equal((await bob.drive.upload('b.bin', randomContent(2000))).status, 201);
    refused(await alice.permits.transfer('kept.bin', 'bob'), 'transfer to a user it would take over the quota');
    t.match(await me(bob), { files: 1, logical_bytes: 2000 }, "bob's usage unchanged");
    t.match(await me(alice), { files: 1, logical_bytes: 9000 }, "alice's too");
    t.equal((await alice.drive.download('kept.bin')).status, 200, 'alice still owns it');
    t.equal((await bob.drive.download('kept.bin')).status, 404, 'bob got nothing');

    refused(await bob.drive.claim('kept.bin', replacing), 'claim, round 1');
    t.equal((await bob.drive.delete('b.bin')).status, 200);
    const { nonce, ranges } = await bob.drive.challenge('kept.bin', replacing);
    t.equal((await bob.drive.upload('filler.bin', randomContent(2000))).status, 201, 'meanwhile, bob fills his quota');
    const answer = { nonce, digest: proofDigest(nonce, ranges, replacing) };
    refused(await bob.drive.claim('kept.bin', replacing, { proof: answer }), 'claim, round 2: checked again when recorded');
    t.equal((await bob.drive.delete('filler.bin')).status, 200);
    t.equal((await bob.drive.claimWithProof('kept.bin', replacing)).status, 201, 'a claim that fits');
    t.match(await me(bob), { files: 1, logical_bytes: 9000, stored_bytes: 4500 });
    t.same(await referenceProblems(server, db), []);
  });
});
