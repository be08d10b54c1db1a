import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { ROUTES } from '@cloudstore/shared';
import t, { type Test } from 'tap';
import { forEachDatabase, startServer } from './helpers/build-app.js';
import { proofDigest, sha256Hex } from './helpers/content.js';
import { Drive, reprDigestOf } from './helpers/drive.js';
import { CheckedClient, saveDocument, startPrism } from './helpers/prism.js';
import { TusUploads } from './helpers/tus.js';
import { corruptOnDisk } from './helpers/scrub.js';

// Prism reads bodies as UTF-8 text, so every byte sent or served through it here is ASCII.
const MAX_UPLOAD_BYTES = 64 * 1024;

async function scratchDirectory(t: Test): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), 'cloudstore-openapi-'));
  t.teardown(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

forEachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind, { maxUploadBytes: MAX_UPLOAD_BYTES, verifyLimit: 3 });
  const documentPath = await saveDocument(server.url, await scratchDirectory(t));

  t.test('the document is valid OpenAPI 3', async (t) => {
    const document = (await SwaggerParser.validate(documentPath)) as any;
    t.match(document.openapi, /^3\./);
    for (const [url, operations] of Object.entries<Record<string, any>>(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        t.ok(operation.summary && operation.description, `${method} ${url} has a summary and a description`);
        t.ok(operation.tags?.length, `${method} ${url} has a tag`);
      }
    }
    const tags = new Set(document.tags.filter((tag: any) => tag.description).map((tag: any) => tag.name));
    t.same([...tags].sort(), ['accounts', 'audit', 'files', 'operations', 'sharing', 'uploads'], 'every tag says what its group does');
  });

  t.test('a whole session through a validating proxy breaks no rule of the document', async (t) => {
    const client = new CheckedClient(await startPrism(t, documentPath, server.url));
    const invalid = <T>(send: () => Promise<T>) => client.deliberatelyInvalid(send);
    const expect = (reply: { status: number; body: any }, status: number, code?: string) => {
      t.equal(reply.status, status, `${status}${code ? ` ${code}` : ''}: ${JSON.stringify(reply.body).slice(0, 200)}`);
      if (code) t.equal(reply.body.code, code);
    };

    t.equal((await client.call('GET', ROUTES.health)).status, 200);

    // Accounts: register, log in with a bearer token and with the cookie.
    expect(await client.register('alice'), 201);
    expect(await client.register('ALICE'), 409, 'USERNAME_TAKEN');
    expect(await invalid(() => client.call('POST', ROUTES.register, { json: { username: 'x', password: 8 } })), 400, 'VALIDATION_FAILED');
    expect(await client.login('alice', 'wrong password'), 401, 'INVALID_CREDENTIALS');
    const cookieLogin = await client.login('alice');
    expect(cookieLogin, 200);
    const cookie = String(cookieLogin.headers['set-cookie']).split(';')[0];
    t.match(cookie, /^token=/);
    expect(await client.call('GET', ROUTES.me, { headers: { cookie } }), 200);
    expect(await client.call('POST', ROUTES.logout, { headers: { cookie } }), 204);
    expect(await client.call('GET', ROUTES.me, { headers: { cookie } }), 401, 'UNAUTHENTICATED');
    expect(await invalid(() => client.call('GET', ROUTES.me)), 401, 'UNAUTHENTICATED');

    const alice = new Drive(client, (await client.login('alice')).body.token);
    const bob = await Drive.register(client, 'bob');
    const carol = await Drive.register(client, 'carol');
    expect(await alice.me(), 200);

    // Uploads, both ways, and their refusals.
    const notes = Buffer.from('notes of alice, plain ASCII\n'.repeat(40));
    expect(await alice.uploadForm('notes.txt', notes, { sha256: sha256Hex(notes) }, 'text/plain'), 201);
    const report = Buffer.from('a report in ASCII\n'.repeat(100));
    expect(await alice.upload('report.txt', report, { contentType: 'text/plain', reprDigest: reprDigestOf(report) }), 201);
    expect(await alice.upload('report.txt', report), 201);
    expect(await alice.upload('bad.txt', report, { reprDigest: reprDigestOf(notes) }), 422, 'DIGEST_MISMATCH');
    expect(await alice.uploadForm('bad.txt', notes, { sha256: sha256Hex(report) }), 422, 'DIGEST_MISMATCH');
    expect(await alice.upload('bad.txt', report, { reprDigest: 'md5=nonsense' }), 400, 'VALIDATION_FAILED');
    expect(await alice.upload('big.txt', Buffer.alloc(MAX_UPLOAD_BYTES + 1, 'x')), 413, 'PAYLOAD_TOO_LARGE');
    expect(
      await invalid(() =>
        client.call('POST', ROUTES.myDrive, { token: alice.token, body: 'hello', headers: { 'content-type': 'text/plain' } }),
      ),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );

    // Downloads: whole, a range, a range past the end, and what the client already has.
    const whole = await alice.download('notes.txt');
    expect(whole, 200);
    t.equal(whole.raw.toString(), notes.toString());
    const part = await alice.download('notes.txt', { range: 'bytes=0-9' });
    expect(part, 206);
    t.equal(part.raw.toString(), notes.subarray(0, 10).toString());
    expect(await alice.download('notes.txt', { range: `bytes=${notes.length}-` }), 416, 'RANGE_NOT_SATISFIABLE');
    expect(await alice.download('notes.txt', { 'if-none-match': String(whole.headers.etag) }), 304);
    expect(await alice.download('missing.txt'), 404, 'FILE_NOT_FOUND');
    expect(await client.call('GET', ROUTES.myDrive, { token: alice.token }), 400, 'VALIDATION_FAILED');

    // Claim by digest: unknown content, then a challenge and its answer.
    expect(await alice.claim('never.txt', Buffer.from('content nobody stored')), 404, 'CONTENT_UNKNOWN');
    const challenged = await alice.claim('copy.txt', report);
    expect(challenged, 428, 'PROOF_REQUIRED');
    const { nonce, ranges } = challenged.body.challenge;
    expect(await alice.claim('copy.txt', report, { proof: { nonce, digest: sha256Hex('a wrong answer') } }), 403, 'PROOF_INVALID');
    const again = (await alice.claim('copy.txt', report)).body.challenge;
    expect(
      await alice.claim('copy.txt', report, { proof: { nonce: again.nonce, digest: proofDigest(again.nonce, again.ranges, report) } }),
      201,
    );
    t.ok(nonce && ranges.length);

    // Verify: whole, then damaged on disk: quarantined (503 on download and claim) until an upload heals it.
    const verify = (filename: string) => client.call('POST', ROUTES.verify, { token: alice.token, json: { filename } });
    const fragile = Buffer.from('fragile bytes in ASCII\n'.repeat(30));
    expect(await alice.upload('fragile.txt', fragile), 201);
    expect(await verify('fragile.txt'), 200);
    await corruptOnDisk(server, fragile);
    const damaged = await verify('fragile.txt');
    expect(damaged, 200);
    t.equal(damaged.body.status, 'damaged');
    expect(await alice.download('fragile.txt'), 503, 'CONTENT_DAMAGED');
    expect(await alice.claim('fragile-copy.txt', fragile), 503, 'CONTENT_DAMAGED');
    expect(await client.call('GET', ROUTES.drivePermit, { token: alice.token }), 200);
    expect(await verify('missing.txt'), 404, 'FILE_NOT_FOUND');
    expect(
      await invalid(() => client.call('POST', ROUTES.verify, { token: alice.token, json: { filename: 5 } })),
      400,
      'VALIDATION_FAILED',
    );
    expect(await alice.upload('fragile.txt', fragile), 201);
    expect(await verify('fragile.txt'), 200);
    expect(await verify('fragile.txt'), 429, 'RATE_LIMITED');

    // Sharing: share, list, friends, an ambiguous name, transfer, revoke.
    const permit = (drive: Drive, method: string, body: Record<string, string>) =>
      client.call(method, ROUTES.drivePermit, { token: drive.token, json: body });
    expect(await permit(alice, 'POST', { filename: 'notes.txt', username: 'bob' }), 201);
    expect(await permit(alice, 'POST', { filename: 'notes.txt', username: 'bob' }), 200);
    expect(await permit(alice, 'POST', { filename: 'notes.txt', username: 'nobody' }), 404, 'USER_NOT_FOUND');
    expect(await permit(alice, 'POST', { filename: 'notes.txt', username: 'alice' }), 400, 'VALIDATION_FAILED');
    expect(await permit(bob, 'POST', { filename: 'notes.txt', username: 'carol' }), 403, 'NOT_OWNER');
    expect(await carol.upload('notes.txt', Buffer.from('notes of carol\n')), 201);
    expect(await permit(carol, 'POST', { filename: 'notes.txt', username: 'bob' }), 201);
    const ambiguous = await bob.download('notes.txt');
    expect(ambiguous, 409, 'AMBIGUOUS_FILENAME');
    t.same([...ambiguous.body.owners].sort(), ['alice', 'carol']);
    expect(await bob.download('notes.txt', {}, 'alice'), 200);
    expect(await client.call('GET', `${ROUTES.drivePermit}?limit=2`, { token: bob.token }), 200);
    expect(await invalid(() => client.call('GET', `${ROUTES.drivePermit}?limit=0`, { token: bob.token })), 400, 'VALIDATION_FAILED');
    expect(await client.call('GET', `${ROUTES.drivePermit}?cursor=forged`, { token: bob.token }), 400, 'VALIDATION_FAILED');
    expect(await client.call('GET', `${ROUTES.driveShare}notes.txt/`, { token: alice.token }), 200);
    expect(await client.call('GET', `${ROUTES.driveShare}notes.txt/?owner=alice`, { token: bob.token }), 403, 'NOT_OWNER');
    expect(await carol.upload('report.txt', Buffer.from('carol has a report too\n')), 201);
    expect(await permit(alice, 'PUT', { filename: 'report.txt', username: 'carol' }), 409, 'NAME_TAKEN');
    expect(await permit(alice, 'PUT', { filename: 'copy.txt', username: 'bob' }), 200);
    expect(await permit(alice, 'DELETE', { filename: 'notes.txt', username: 'carol' }), 404, 'NOT_SHARED');
    expect(await permit(alice, 'DELETE', { filename: 'notes.txt', username: 'bob' }), 200);
    expect(await permit(bob, 'DELETE', { filename: 'copy.txt', username: 'bob', owner: 'bob' }), 400, 'VALIDATION_FAILED');

    // Delete: a friend may not, the owner may.
    expect(await permit(carol, 'POST', { filename: 'notes.txt', username: 'alice' }), 201);
    expect(
      await client.call('DELETE', ROUTES.myDrive, { token: alice.token, json: { filename: 'notes.txt', owner: 'carol' } }),
      403,
      'NOT_OWNER',
    );
    expect(await alice.delete('notes.txt'), 200);
    expect(await client.call('DELETE', `${ROUTES.myDrive}?filename=report.txt`, { token: alice.token }), 200);
    expect(await alice.delete('never.txt'), 404, 'FILE_NOT_FOUND');

    // Resumable uploads (tus): capabilities, creation, progress, the bytes, refusals, termination.
    const tus = new TusUploads(client, alice.token);
    expect(await tus.options(), 204);
    const draft = Buffer.from('a resumable draft in ASCII\n'.repeat(20));
    const created = await tus.create('draft.txt', draft.length, { contentType: 'text/plain', sha256: sha256Hex(draft) });
    expect(created, 201);
    const location = String(created.headers.location);
    expect(await tus.head(location), 200);
    expect(await tus.patch(location, 0, draft.subarray(0, 100)), 204);
    expect(await tus.patch(location, 0, draft.subarray(0, 100)), 409, 'UPLOAD_OFFSET_MISMATCH');
    expect(await tus.patch(location, 100, draft.subarray(100)), 204);
    // (A HEAD answered 404 is left out here: Prism fails on a HEAD response whose error has no body. uploads-tus.test.ts checks it.)
    expect(await tus.create('whole.txt', draft.length, { body: draft }), 201);
    expect(await tus.create('big.txt', MAX_UPLOAD_BYTES + 1), 413, 'PAYLOAD_TOO_LARGE');
    expect(await tus.create('old.txt', 1, { headers: { 'tus-resumable': '0.2.2' } }), 412, 'PRECONDITION_FAILED');
    expect(await tus.create('bad/name', 1), 400, 'VALIDATION_FAILED');
    const mismatched = await tus.start('mismatch.txt', draft.length, { sha256: sha256Hex(notes) });
    expect(await tus.patch(mismatched, 0, draft), 422, 'DIGEST_MISMATCH');
    const dropped = await tus.start('dropped.txt', 10);
    // Prism does not hold an optional body's media type against the document: a request it lets through.
    expect(await tus.patch(dropped, 0, Buffer.from('abc'), { 'content-type': 'application/octet-stream' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(await tus.patch(dropped, 0, Buffer.from('0123456789A')), 413, 'PAYLOAD_TOO_LARGE');
    expect(await tus.delete(dropped), 204);
    expect(await tus.delete(dropped), 404, 'FILE_NOT_FOUND');
    // The audit trail: a page, the next one by its cursor, and the refusals.
    const firstPage = await client.call('GET', `${ROUTES.audit}?limit=2`, { token: alice.token });
    expect(firstPage, 200);
    const cursor = encodeURIComponent(firstPage.body.next_cursor);
    expect(await client.call('GET', `${ROUTES.audit}?limit=1000&cursor=${cursor}`, { token: alice.token }), 200);
    expect(await client.call('GET', `${ROUTES.audit}?cursor=forged`, { token: alice.token }), 400, 'VALIDATION_FAILED');
    expect(await invalid(() => client.call('GET', `${ROUTES.audit}?limit=0`, { token: alice.token })), 400, 'VALIDATION_FAILED');
    expect(await invalid(() => client.call('GET', ROUTES.audit)), 401, 'UNAUTHENTICATED');

    const findings = client.findings();
    t.same(findings, [], `${client.exchanges.length} exchanges, ${findings.length} violations`);
    t.ok(
      client.exchanges.filter((exchange) => exchange.isDeliberatelyInvalid).every((exchange) => exchange.violations.length > 0),
      'each request sent against the document on purpose is reported',
    );
  });
});

t.test('the proxy reports a response that the document does not describe', async (t) => {
  const server = await startServer(t, 'sqlite');
  const documentPath = await saveDocument(server.url, await scratchDirectory(t), (document) => {
    delete document.paths[ROUTES.myDrive].get.responses['404'];
    delete document.paths[ROUTES.me].get.responses['200'].content['application/json'].schema.properties.bytes;
    document.paths[ROUTES.me].get.responses['200'].content['application/json'].schema.additionalProperties = false;
  });
  const client = new CheckedClient(await startPrism(t, documentPath, server.url));
  const alice = await Drive.register(client, 'alice');
  t.equal((await alice.download('missing.txt')).status, 404);
  t.equal((await alice.me()).status, 200);
  const findings = client.findings();
  t.equal(findings.length, 2, findings.join('\n'));
  t.match(findings[0], /GET .*missing\.txt -> 404: response/);
  t.match(findings[1], /GET \/me -> 200: response/);
});
