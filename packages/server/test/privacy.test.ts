import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { Client, type Reply } from './helpers/client.js';
import { forEachDatabase, startServer, type TestServer } from './helpers/build-app.js';

const sha256 = (content: Buffer) => createHash('sha256').update(content).digest('hex');

function upload(client: Client, token: string, filename: string, content: Buffer): Promise<Reply> {
  return client.call('POST', `/cloud/my-drive/?filename=${encodeURIComponent(filename)}`, {
    token,
    body: content,
    headers: { 'content-type': 'application/octet-stream' },
  });
}

function claim(client: Client, token: string, filename: string, content: Buffer, proof?: { nonce: string; digest: string }) {
  return client.call('POST', '/cloud/my-drive/', {
    token,
    json: { filename, sha256: sha256(content), size: content.length, ...(proof ? { proof } : {}) },
  });
}

/** Round 1, then the proof computed from the bytes the caller holds. */
async function claimWithProof(client: Client, token: string, filename: string, content: Buffer): Promise<Reply> {
  const first = await claim(client, token, filename, content);
  if (first.status !== 428) return first;
  const { nonce, ranges } = first.body.challenge as { nonce: string; ranges: [number, number][] };
  const hash = createHash('sha256').update(nonce, 'utf8');
  for (const [offset, length] of ranges) hash.update(content.subarray(offset, offset + length));
  return claim(client, token, filename, content, { nonce, digest: hash.digest('hex') });
}

async function blobsOnDisk(server: TestServer): Promise<number> {
  const entries = await readdir(path.join(server.dataDir, 'blobs'), { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).length;
}

/** What an observer can compare between two answers: everything but the bytes of the Date header. */
function shape(reply: Reply) {
  return { status: reply.status, body: reply.body, headers: Object.keys(reply.headers).sort() };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

forEachDatabase(t, { oneAtATime: true }, async (t, kind) => {
  const server = await startServer(t, kind);
  const client = new Client(server.url);
  const owner = await client.user('owner');
  const stranger = await client.user('stranger');
  const friend = await client.user('friend');
  const secret = randomBytes(300_000);
  t.equal((await upload(client, owner, 'payslip.pdf', secret)).status, 201);

  t.test("a stranger's claim of someone else's content equals the never-seen answer", async (t) => {
    const stored = await claim(client, stranger, 'guess.pdf', secret);
    const neverSeen = await claim(client, stranger, 'guess.pdf', randomBytes(300_000));
    t.equal(stored.status, 404);
    t.equal(stored.body.code, 'CONTENT_UNKNOWN');
    t.same(shape(stored), shape(neverSeen));
    const forgedProof = { nonce: 'made-up', digest: sha256(Buffer.from('x')) };
    t.same(shape(await claim(client, stranger, 'guess.pdf', secret, forgedProof)), shape(neverSeen), 'round 2 too');
  });

  t.test("the stranger's upload of those bytes is not deduplicated, yet stored once", async (t) => {
    const before = await blobsOnDisk(server);
    const reply = await upload(client, stranger, 'mine.pdf', secret);
    t.equal(reply.status, 201);
    t.equal(reply.body.deduplicated, false);
    t.same(Object.keys(reply.body).sort(), ['deduplicated', 'filename', 'replaced', 'sha256', 'size']);
    t.equal(await blobsOnDisk(server), before, 'storage grows by nothing');
    const download = await client.call('GET', '/cloud/my-drive/?filename=payslip.pdf', { token: owner });
    t.equal(sha256(download.raw), sha256(secret), "the owner's file is untouched");
  });

  t.test('whoever can already read the content learns that it is stored', async (t) => {
    const again = await upload(client, owner, 'payslip-copy.pdf', secret);
    t.equal(again.body.deduplicated, true, "the owner's re-upload under another name");
    const claimed = await claimWithProof(client, owner, 'payslip-again.pdf', secret);
    t.equal(claimed.status, 201);
    t.equal(claimed.body.deduplicated, true);

    // Content only the owner holds: a stranger's copy of `secret` may already make it popular (T can be 2).
    const contract = randomBytes(200_000);
    t.equal((await upload(client, owner, 'contract.pdf', contract)).status, 201);
    const share = await client.call('POST', '/cloud/drive-permit/', {
      token: owner,
      json: { filename: 'contract.pdf', username: 'friend' },
    });
    t.equal(share.status, 201);
    const friendClaim = await claimWithProof(client, friend, 'from-owner.pdf', contract);
    t.equal(friendClaim.status, 201, "a friend's claim");
    t.equal(friendClaim.body.deduplicated, true);
    t.equal((await client.call('DELETE', '/cloud/my-drive/', { token: friend, json: { filename: 'from-owner.pdf' } })).status, 200);

    const revoke = await client.call('DELETE', '/cloud/drive-permit/', {
      token: owner,
      json: { filename: 'contract.pdf', username: 'friend' },
    });
    t.equal(revoke.status, 200);
    const after = await claim(client, friend, 'from-owner.pdf', contract);
    t.equal(after.status, 404, 'after revocation the former friend is a stranger again');
    t.equal(after.body.code, 'CONTENT_UNKNOWN');
  });

  t.test('a template attack gets identical answers for every candidate', async (t) => {
    const template = (pin: string) => Buffer.from(`Dear customer,\nyour new PIN is ${pin}.\nRegards, the bank\n`);
    await upload(client, owner, 'letter.txt', template('4821'));
    const candidates = Array.from({ length: 50 }, (_, index) => String(4800 + index));
    t.ok(candidates.includes('4821'));
    const answers = [];
    for (const pin of candidates) answers.push(shape(await claim(client, stranger, 'letter.txt', template(pin))));
    t.equal(answers[0].status, 404);
    for (const answer of answers) t.same(answer, answers[0]);
  });

  t.test('a refused claim takes the same time for stored and never-seen content', async (t) => {
    const stored = randomBytes(64);
    await upload(client, owner, 'timing.bin', stored);
    const time = async (content: Buffer) => {
      const started = process.hrtime.bigint();
      const reply = await claim(client, stranger, 'timing.bin', content);
      t.equal(reply.status, 404);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    for (let warmUp = 0; warmUp < 10; warmUp++) await time(stored);
    const storedTimes: number[] = [];
    const unseenTimes: number[] = [];
    for (let pair = 0; pair < 50; pair++) {
      const unseen = randomBytes(64);
      if (pair % 2) {
        storedTimes.push(await time(stored));
        unseenTimes.push(await time(unseen));
      } else {
        unseenTimes.push(await time(unseen));
        storedTimes.push(await time(stored));
      }
    }
    const ratio = median(storedTimes) / median(unseenTimes);
    t.ok(
      ratio > 0.8 && ratio < 1.2,
      `medians: stored ${median(storedTimes).toFixed(2)} ms, never seen ${median(unseenTimes).toFixed(2)} ms`,
    );
  });

  t.test('the threshold never appears in a response', async (t) => {
    const replies = [
      await upload(client, owner, 'any.bin', randomBytes(10)),
      await claim(client, owner, 'any2.bin', secret),
      await client.call('GET', '/cloud/drive-permit/', { token: owner }),
      await client.call('GET', '/docs/json'),
    ];
    for (const reply of replies) t.notMatch(reply.raw.toString(), /threshold/i);
  });
});

forEachDatabase(t, { oneAtATime: true }, async (t, kind) => {
  t.test('popular content becomes claimable by strangers, and DEDUP_THRESHOLD_MAX is read at each decision', async (t) => {
    const server = await startServer(t, kind, { dedupThresholdMax: 3 });
    const client = new Client(server.url);
    const popular = randomBytes(2048);
    const owners = [await client.user('first'), await client.user('second'), await client.user('third')];
    const outsider = await client.user('outsider');
    await upload(client, owners[0], 'song.mp3', popular);
    t.equal((await claim(client, outsider, 'song.mp3', popular)).status, 404, 'not after 1 owner');
    await upload(client, owners[1], 'song.mp3', popular);
    await upload(client, owners[2], 'song.mp3', popular);
    const afterThree = await claimWithProof(client, outsider, 'song.mp3', popular);
    t.equal(afterThree.status, 201, 'after at most 3 owners');
    t.equal(afterThree.body.deduplicated, true);

    const rare = randomBytes(2048);
    await upload(client, owners[0], 'rare.bin', rare);
    t.equal((await claim(client, outsider, 'rare.bin', rare)).status, 404);
    server.config.dedupThresholdMax = 1;
    t.equal((await claim(client, outsider, 'rare.bin', rare)).status, 428, 'while it is 1, everything stored is disclosed');
    const dedup = await upload(client, outsider, 'rare-copy.bin', rare);
    t.equal(dedup.body.deduplicated, true);
  });
});
