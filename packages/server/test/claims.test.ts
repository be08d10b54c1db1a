import { randomBytes } from 'node:crypto';
import t from 'tap';
import type { Reply } from './helpers/client.js';
import { forEachDatabase } from './helpers/build-app.js';
import { startFileServer } from './helpers/file-server.js';
import { blobsOnDisk, proofDigest, randomContent, sha256Hex, type ByteRanges } from './helpers/content.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Whether any challenged range touches bytes [start, end). */
const touches = (ranges: ByteRanges, start: number, end: number) =>
  ranges.some(([offset, length]) => offset < end && offset + length > start);

/** `nonce` with the case of its first letter flipped: another string that a case-insensitive lookup would confuse. */
function flipCase(nonce: string): string {
  const index = nonce.search(/[A-Za-z]/);
  const letter = nonce[index];
  return nonce.slice(0, index) + (letter === letter.toLowerCase() ? letter.toUpperCase() : letter.toLowerCase()) + nonce.slice(index + 1);
}

forEachDatabase(t, async (t, kind) => {
  // Claims by users who do not own the content: every stored content is disclosed to possessors.
  const {
    server,
    client,
    db,
    drives: [alice, bob, carol],
  } = await startFileServer(t, kind, ['alice', 'bob', 'carol'], { dedupThresholdMax: 1 });
  const big = randomContent(4 * MiB);
  const justOver = randomContent(MiB + 1);
  const exactlyMiB = randomContent(MiB);
  const small = randomContent(100 * KiB);
  const empty = Buffer.alloc(0);
  for (const [name, content] of Object.entries({ big, justOver, exactlyMiB, small, empty })) {
    t.equal((await alice.upload(name, content, { contentType: 'text/html' })).status, 201, `alice stores ${name}`);
  }

  t.test('round 1: 428 with 16 random 4 KiB ranges, or the whole content up to 1 MiB', async (t) => {
    const reply = await bob.claim('big.bin', big);
    t.equal(reply.status, 428);
    t.same(Object.keys(reply.body).sort(), ['challenge', 'code', 'error', 'message', 'statusCode']);
    t.match(reply.body, { statusCode: 428, code: 'PROOF_REQUIRED', error: 'Precondition Required', message: String });
    t.same(Object.keys(reply.body.challenge).sort(), ['nonce', 'ranges']);
    t.match(reply.body.challenge.nonce, /^\S{16,}$/);
    for (const [what, content] of [
      ['4 MiB', big],
      ['1 MiB + 1', justOver],
    ] as const) {
      const { ranges } = await bob.challenge('x', content);
      t.equal(ranges.length, 16, `${what}: 16 ranges`);
      const isInside = ranges.every(
        ([offset, length]) => Number.isInteger(offset) && offset >= 0 && length === 4096 && offset + length <= content.length,
      );
      t.ok(isInside, `${what}: each of 4096 bytes, inside the content`);
    }
    const first = await bob.challenge('x', big);
    const second = await bob.challenge('x', big);
    t.not(first.nonce, second.nonce, 'a new nonce each time');
    t.notSame(first.ranges, second.ranges, 'new ranges each time');
    t.ok(new Set(first.ranges.map(([offset]) => offset)).size > 8, 'spread over the content');
    t.same((await bob.challenge('x', exactlyMiB)).ranges, [[0, MiB]], 'exactly 1 MiB: the whole content');
    t.same((await bob.challenge('x', small)).ranges, [[0, small.length]], 'smaller: the whole content');
    t.same((await bob.challenge('x', empty)).ranges, [[0, 0]], 'empty: [[0,0]]');
    const [row] = await db('challenges').where('nonce', second.nonce);
    t.ok(Math.abs(Number(row.expires_at) - Date.now() - 120_000) < 10_000, 'it expires in 120 s');
  });

  t.test('a new challenge deletes the expired ones, and leaves the live ones', async (t) => {
    const expired = await bob.challenge('x', small);
    const live = await bob.challenge('x', small);
    await db('challenges')
      .where('nonce', expired.nonce)
      .update({ expires_at: Date.now() - 1 });
    await carol.challenge('y', small);
    t.same(await db('challenges').whereIn('nonce', [expired.nonce, live.nonce]).pluck('nonce'), [live.nonce]);
  });

  t.test('a correct proof is 201, deduplicated, and stores no new bytes', async (t) => {
    const blobs = await blobsOnDisk(server.dataDir);
    for (const [name, content] of Object.entries({ big, justOver, small, empty })) {
      const reply = await bob.claimWithProof(`claimed-${name}`, content);
      t.equal(reply.status, 201, name);
      t.same(reply.body, {
        filename: `claimed-${name}`,
        sha256: sha256Hex(content),
        size: content.length,
        deduplicated: true,
        replaced: false,
      });
      const download = await bob.download(`claimed-${name}`);
      t.ok(download.raw.equals(content), `${name}: the claimer reads the content`);
      t.equal(download.headers['content-type'], 'application/octet-stream', "never the other user's content type");
    }
    t.same(await blobsOnDisk(server.dataDir), blobs, 'no new blob');
    const typed = await bob.claimWithProof('typed.txt', small, small, { contentType: 'text/plain' });
    t.equal(typed.status, 201);
    t.equal((await bob.download('typed.txt')).headers['content-type'], 'text/plain', 'a content_type given is used');
    const replaced = await bob.claimWithProof('claimed-small', big);
    t.same([replaced.status, replaced.body.replaced], [201, true], 'a claim onto an own name replaces it');
    const upperCase = await bob.claim('upper.bin', small, { sha256: sha256Hex(small).toUpperCase() });
    t.equal(upperCase.status, 428, 'the digest in any case');
  });

  t.test('content not stored, or of another size, is 404 CONTENT_UNKNOWN, one answer for all', async (t) => {
    const replies = [
      await bob.claim('unknown.bin', randomContent(5000)),
      await bob.claim('small.bin', small, { size: small.length + 1 }),
      await bob.claim('small.bin', small, { size: 0 }),
      await bob.claim('unknown.bin', randomContent(5000), { proof: { nonce: 'made-up', digest: sha256Hex('x') } }),
    ];
    for (const reply of replies) t.same([reply.status, reply.body.code], [404, 'CONTENT_UNKNOWN']);
    for (const reply of replies) t.same(reply.body, replies[0].body, 'the same answer');
  });

  t.test('every wrong proof is 403 PROOF_INVALID, the same answer, and stores nothing', async (t) => {
    const before = (await bob.me()).body;
    const answer = (content: Buffer, nonce: string, digest: string, filename = 'stolen.bin') =>
      bob.claim(filename, content, { proof: { nonce, digest } });
    /** Claims `claimed` with `nonce` (the challenge's own by default), hashing the challenged ranges of `known`. */
    const prove = (claimed: Buffer, challenge: { nonce: string; ranges: ByteRanges }, known = claimed, nonce = challenge.nonce) =>
      answer(claimed, nonce, proofDigest(nonce, challenge.ranges, known));
    const challengeBy = (drive = bob, content = small) => drive.challenge('stolen.bin', content);
    /** A challenge of `small` whose stored row is then changed as `change` says. */
    const changedChallenge = async (change: Record<string, number>) => {
      const challenge = await challengeBy();
      await db('challenges').where('nonce', challenge.nonce).update(change);
      return challenge;
    };
    const refusals: Record<string, Reply> = {};

    refusals['a forged nonce'] = await prove(small, await challengeBy(), small, randomBytes(32).toString('base64url'));
    const tampered = await challengeBy();
    refusals['a nonce altered in the case of one letter'] = await prove(small, tampered, small, flipCase(tampered.nonce));
    const padded = await challengeBy();
    refusals['a nonce with a trailing space'] = await prove(small, padded, small, `${padded.nonce} `);

    const used = await bob.challenge('used.bin', small);
    const usedDigest = proofDigest(used.nonce, used.ranges, small);
    t.equal((await answer(small, used.nonce, usedDigest, 'used.bin')).status, 201, 'the first use works');
    refusals['the replay of a used nonce'] = await answer(small, used.nonce, usedDigest);

    const failed = await challengeBy();
    refusals['a wrong answer'] = await answer(small, failed.nonce, sha256Hex(randomContent(32)));
    refusals['the right answer after a wrong one (a nonce works once)'] = await prove(small, failed);
    refusals["another user's nonce"] = await prove(small, await challengeBy(carol));
    refusals["another digest's nonce, answered from this content"] = await prove(justOver, await challengeBy(bob, big));
    refusals["another digest's nonce, answered from its own content"] = await prove(justOver, await challengeBy(bob, big), big);
    refusals['a nonce made for another size'] = await prove(small, await changedChallenge({ size: small.length + 1 }));
    refusals['an expired nonce'] = await prove(small, await changedChallenge({ expires_at: Date.now() - 1 }));

    const wrongs = {
      'the ranges without the nonce': (_nonce: string, ranges: ByteRanges) =>
        sha256Hex(Buffer.concat(ranges.map(([offset, length]) => big.subarray(offset, offset + length)))),
      'the ranges in another order': (nonce: string, ranges: ByteRanges) => proofDigest(nonce, [...ranges].reverse(), big),
      'the digest of the content': () => sha256Hex(big),
      'the nonce over the whole content': (nonce: string) => proofDigest(nonce, [[0, big.length]], big),
    };
    for (const [what, digest] of Object.entries(wrongs)) {
      const { nonce, ranges } = await challengeBy(bob, big);
      refusals[`a wrong digest: ${what}`] = await answer(big, nonce, digest(nonce, ranges));
    }

    const allButOneByte = Buffer.from(small);
    allButOneByte[small.length - 1] ^= 0xff;
    refusals['a client that knows all but the last byte of a small file'] = await bob.claimWithProof('stolen.bin', small, allButOneByte);

    // All but 4 KiB of 4 MiB: a challenge that touches the unknown 4 KiB is failed.
    const [holeStart, holeEnd] = [2 * MiB + 100, 2 * MiB + 100 + 4 * KiB];
    const partial = Buffer.from(big);
    partial.fill(0, holeStart, holeEnd);
    let challenge = await challengeBy(bob, big);
    for (let attempt = 0; attempt < 2000 && !touches(challenge.ranges, holeStart, holeEnd); attempt++)
      challenge = await challengeBy(bob, big);
    t.ok(touches(challenge.ranges, holeStart, holeEnd), 'some challenge asks for the unknown bytes');
    refusals['a client that knows all but 4 KiB of 4 MiB, asked for them'] = await prove(big, challenge, partial);

    const reference = refusals['a forged nonce'];
    t.same(Object.keys(reference.body).sort(), ['code', 'error', 'message', 'statusCode'], 'the refusal tells nothing more');
    for (const [what, reply] of Object.entries(refusals)) {
      t.equal(reply.status, 403, what);
      t.same(reply.body, reference.body, `${what}: the one refusal`);
    }
    t.equal((await bob.download('stolen.bin')).status, 404, 'nothing was stored');
    const after = (await bob.me()).body;
    const bytes = before.bytes + small.length;
    t.match(after, { files: before.files + 1, bytes, logical_bytes: bytes }, 'only the one correct claim counts');
  });

  t.test('a nonce of another size, digest or content by the API: round 1 answers first', async (t) => {
    const { nonce, ranges } = await bob.challenge('sized.bin', small);
    const reply = await bob.claim('sized.bin', small, {
      size: small.length - 1,
      proof: { nonce, digest: proofDigest(nonce, ranges, small) },
    });
    t.same([reply.status, reply.body.code], [404, 'CONTENT_UNKNOWN'], 'no content of that digest and size');
  });

  t.test('a claim body is validated like any other', async (t) => {
    const valid = { filename: 'v.bin', sha256: sha256Hex(small), size: small.length };
    const invalid = [
      { ...valid, filename: 'a/b' },
      { ...valid, filename: '' },
      { ...valid, sha256: 'z'.repeat(64) },
      { ...valid, sha256: sha256Hex(small).slice(1) },
      { ...valid, size: -1 },
      { ...valid, size: String(small.length) },
      { ...valid, size: 1.5 },
      { ...valid, size: 1e300 },
      { ...valid, size: 2 ** 53 },
      { ...valid, content_type: 'text' },
      { ...valid, content_type: 7 },
      { ...valid, content_type: `text/${'x'.repeat(300)}` },
      { ...valid, proof: { nonce: '', digest: sha256Hex('x') } },
      { ...valid, proof: { nonce: 'n', digest: 'not hex' } },
      { ...valid, proof: 'nonce' },
      { filename: 'v.bin', sha256: sha256Hex(small) },
    ];
    for (const json of invalid) {
      const reply = await client.call('POST', '/cloud/my-drive/', { token: bob.token, json });
      t.same([reply.status, reply.body.code], [400, 'VALIDATION_FAILED'], JSON.stringify(json).slice(0, 100));
    }
    const unknownField = await client.call('POST', '/cloud/my-drive/', { token: bob.token, json: { ...valid, colour: 'blue' } });
    t.equal(unknownField.status, 428, 'unknown fields are ignored');
    const anonymous = await client.call('POST', '/cloud/my-drive/', { json: valid });
    t.same([anonymous.status, anonymous.body.code], [401, 'UNAUTHENTICATED']);
  });
});
