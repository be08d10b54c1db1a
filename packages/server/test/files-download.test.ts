import t from 'tap';
import { forEachDatabase } from './helpers/build-app.js';
import { startFileServer } from './helpers/file-server.js';
import { randomContent, sha256Hex } from './helpers/content.js';
import { Drive, reprDigestOf } from './helpers/drive.js';
import { Permits } from './helpers/permits.js';

const SIZE = 10_000;

forEachDatabase(t, async (t, kind) => {
  const {
    client,
    drives: [alice, bob, carol],
  } = await startFileServer(t, kind, ['alice', 'bob', 'carol']);
  const content = randomContent(SIZE);
  const etag = `"${sha256Hex(content)}"`;
  t.equal((await alice.upload('page.html', content, { contentType: 'text/html' })).status, 201);
  t.equal((await alice.uploadForm('untyped.bin', content)).status, 201);
  t.equal((await alice.upload('empty.txt', Buffer.alloc(0))).status, 201);

  t.test('a download carries every header API.md lists', async (t) => {
    const reply = await alice.download('page.html');
    t.equal(reply.status, 200);
    t.ok(reply.raw.equals(content));
    t.match(reply.headers, {
      'content-type': 'text/html',
      'content-length': String(SIZE),
      etag,
      'repr-digest': reprDigestOf(content),
      'accept-ranges': 'bytes',
      'x-content-type-options': 'nosniff',
      'content-security-policy': 'sandbox',
      'content-disposition': `attachment; filename="page.html"; filename*=UTF-8''page.html`,
    });
    t.match(String(reply.headers.etag), /^"[0-9a-f]{64}"$/, 'the ETag is lower-case hex in quotes');
    t.equal((await alice.download('untyped.bin')).headers['content-type'], 'application/octet-stream', 'no type given: octet-stream');
    const empty = await alice.download('empty.txt');
    t.equal(empty.status, 200);
    t.equal(empty.headers['content-length'], '0');
    t.equal(empty.headers.etag, `"${sha256Hex(Buffer.alloc(0))}"`);
    t.equal(empty.raw.length, 0);
  });

  t.test('one range is 206 with Content-Range; one past the end is served to the end', async (t) => {
    const cases: [string, number, number][] = [
      ['bytes=0-99', 0, 99],
      ['bytes=5000-', 5000, SIZE - 1],
      ['bytes=-100', SIZE - 100, SIZE - 1],
      [`bytes=${SIZE - 10}-${SIZE + 5000}`, SIZE - 10, SIZE - 1],
      [`bytes=${SIZE - 1}-${SIZE - 1}`, SIZE - 1, SIZE - 1],
      [`bytes=-${SIZE * 2}`, 0, SIZE - 1],
    ];
    for (const [range, start, end] of cases) {
      const reply = await alice.download('page.html', { range });
      t.equal(reply.status, 206, range);
      t.equal(reply.headers['content-range'], `bytes ${start}-${end}/${SIZE}`, range);
      t.equal(reply.headers['content-length'], String(end - start + 1), range);
      t.ok(reply.raw.equals(content.subarray(start, end + 1)), `${range}: those bytes`);
      t.match(reply.headers, {
        etag,
        'content-type': 'text/html',
        'x-content-type-options': 'nosniff',
        'content-security-policy': 'sandbox',
      });
    }
  });

  t.test('a range that starts at or after the end is 416', async (t) => {
    for (const [file, range] of [
      ['page.html', `bytes=${SIZE}-`],
      ['page.html', `bytes=${SIZE + 100}-${SIZE + 200}`],
      ['empty.txt', 'bytes=0-'],
    ]) {
      const reply = await alice.download(file, { range });
      t.equal(reply.status, 416, `${file} ${range}`);
      t.equal(reply.body.code, 'RANGE_NOT_SATISFIABLE');
      t.match(String(reply.headers['content-range']), /^bytes \*\/\d+$/);
    }
  });

  t.test('several ranges, or a range that does not parse, get the whole file', async (t) => {
    for (const range of ['bytes=0-9,100-109', 'bytes=0-9,10-19', 'bytes=0-9,5-20', 'bytes=abc', 'bytes=20-10', 'items=0-9']) {
      const reply = await alice.download('page.html', { range });
      t.equal(reply.status, 200, range);
      t.equal(reply.headers['content-length'], String(SIZE), range);
      t.notOk(reply.headers['content-range'], range);
      t.ok(reply.raw.equals(content), `${range}: the whole file`);
    }
  });

  t.test('If-None-Match with the ETag is 304', async (t) => {
    for (const header of [etag, `W/${etag}`, `"something-else", ${etag}`, '*']) {
      const reply = await alice.download('page.html', { 'if-none-match': header });
      t.equal(reply.status, 304, header);
      t.equal(reply.raw.length, 0, 'no body');
      t.equal(reply.headers.etag, etag);
    }
    t.equal((await alice.download('page.html', { 'if-none-match': etag, range: 'bytes=0-9' })).status, 304, 'with a range too');
    for (const header of ['"something-else"', etag.toUpperCase()]) {
      t.equal((await alice.download('page.html', { 'if-none-match': header })).status, 200, `${header} does not match`);
    }
  });

  t.test('If-Match resumes a range of the same content, and is 412 once the content changed', async (t) => {
    for (const header of [etag, `"something-else", ${etag}`, '*']) {
      const reply = await alice.download('page.html', { 'if-match': header, range: 'bytes=4000-' });
      t.equal(reply.status, 206, header);
      t.ok(reply.raw.equals(content.subarray(4000)), `${header}: the rest of the file`);
    }
    t.equal((await alice.download('page.html', { 'if-match': etag })).status, 200, 'without a range: the whole file');
    for (const header of ['"something-else"', `W/${etag}`, etag.toUpperCase()]) {
      const reply = await alice.download('page.html', { 'if-match': header, range: 'bytes=4000-' });
      t.equal(reply.status, 412, `${header}: a weak or other tag never matches`);
      t.match(reply.body, { statusCode: 412, code: 'PRECONDITION_FAILED', error: 'Precondition Failed' });
      t.notOk(reply.headers['content-range'], 'no bytes of the new content');
    }
    t.equal((await bob.download('page.html', { 'if-match': etag })).status, 404, 'a stranger learns nothing from a matching ETag');
  });

  t.test('which file a name means, and 404 for everything the caller may not read', async (t) => {
    const noName = await client.call('GET', '/cloud/my-drive/', { token: alice.token });
    t.equal(noName.status, 400);
    t.equal(noName.body.code, 'VALIDATION_FAILED');
    const unauthenticated = await new Drive(client, '').download('page.html');
    t.equal(unauthenticated.status, 401);
    t.equal(unauthenticated.body.code, 'UNAUTHENTICATED');
    t.equal((await alice.download('page.html', {}, 'ALICE')).status, 200, 'owner= names the caller, in any case');

    const refusals = {
      "a stranger asks for someone's file by name": await bob.download('page.html'),
      'a stranger names the owner': await bob.download('page.html', {}, 'alice'),
      'a file that does not exist': await bob.download('nothing.html', {}, 'alice'),
      'an unknown owner': await bob.download('page.html', {}, 'nobody'),
    };
    for (const [what, reply] of Object.entries(refusals)) {
      t.equal(reply.status, 404, what);
      t.equal(reply.body.code, 'FILE_NOT_FOUND', what);
      t.same(Object.keys(reply.body).sort(), ['code', 'error', 'message', 'statusCode'], `${what}: nothing more`);
      t.notOk(reply.headers.etag, `${what}: no ETag`);
    }
    t.equal(
      refusals['a stranger names the owner'].body.message,
      refusals['an unknown owner'].body.message,
      'an existing file and an unknown owner read the same',
    );
  });

  t.test("a friend's file by name; several friends' files of that name are ambiguous", async (t) => {
    const reportOfAlice = randomContent(100);
    const reportOfCarol = randomContent(100);
    await alice.upload('report.pdf', reportOfAlice);
    await carol.upload('report.pdf', reportOfCarol);
    t.equal((await new Permits(client, alice.token).share('report.pdf', 'bob')).status, 201);
    t.ok((await bob.download('report.pdf')).raw.equals(reportOfAlice), 'the one shared file of that name');
    t.equal((await new Permits(client, carol.token).share('report.pdf', 'bob')).status, 201);
    const ambiguous = await bob.download('report.pdf');
    t.equal(ambiguous.status, 409);
    t.equal(ambiguous.body.code, 'AMBIGUOUS_FILENAME');
    t.same([...ambiguous.body.owners].sort(), ['alice', 'carol']);
    t.ok((await bob.download('report.pdf', {}, 'carol')).raw.equals(reportOfCarol), 'owner= resolves it');
    const own = randomContent(100);
    await bob.upload('report.pdf', own);
    t.ok((await bob.download('report.pdf')).raw.equals(own), "the caller's own file comes first");
  });
});
