import t from 'tap';
import { forEachDatabase } from './helpers/build-app.js';
import { randomContent, sha256Hex, temporaryFiles } from './helpers/content.js';
import { startFileServer } from './helpers/file-server.js';
import { heldUpload, postHeadOnly } from './helpers/raw-http.js';
import { assertNothingLeft, referenceProblems, storageState } from './helpers/storage-state.js';
import { eventually } from './helpers/waiting.js';

const MiB = 1024 * 1024;
const UPLOADS_PER_USER = 64;

forEachDatabase(t, async (t, kind) => {
  const {
    server,
    db,
    drives: [alice, bob],
  } = await startFileServer(t, kind, ['alice', 'bob']);
  const auth = { authorization: `Bearer ${alice.token}` };

  t.test(`the ${UPLOADS_PER_USER + 1}th upload of one user in flight is 429, before its body; other users are unaffected`, async (t) => {
    const held = Array.from({ length: UPLOADS_PER_USER }, (_, index) =>
      heldUpload(server.url, alice.token, `held-${index}.bin`, randomContent(MiB), 1024),
    );
    t.teardown(() => held.forEach(({ request }) => request.destroy()));
    t.ok(
      await eventually(async () => (await temporaryFiles(server.dataDir)).length === UPLOADS_PER_USER, 30_000),
      `${UPLOADS_PER_USER} uploads in flight`,
    );

    for (const contentType of ['application/octet-stream', 'multipart/form-data; boundary=xyz']) {
      const refused = await postHeadOnly(server.url, '/cloud/my-drive/?filename=one-more.bin', {
        ...auth,
        'content-type': contentType,
        'content-length': MiB,
      });
      t.same([refused.status, refused.body.code], [429, 'RATE_LIMITED'], contentType);
      t.equal(refused.headers['retry-after'], '1');
    }
    const claim = await alice.claim('claimed.bin', randomContent(10));
    t.equal(claim.status, 404, 'a claim sends no bytes: it is not an upload in flight');
    const other = await bob.upload('bob.bin', randomContent(1000));
    t.equal(other.status, 201, `bob uploads meanwhile: ${JSON.stringify(other.body)}`);

    held.forEach(({ request }) => request.destroy());
    t.ok(
      await eventually(async () => (await alice.upload('after.bin', randomContent(1000))).status === 201, 10_000),
      'slots come back when uploads end',
    );
  });

  t.test('uploads share one pool of buffers: many at once, some stalled, all complete with the right digest', async (t) => {
    const stalled = Array.from({ length: 16 }, (_, index) => {
      const content = randomContent(3 * MiB + index);
      return { content, upload: heldUpload(server.url, alice.token, `stalled-${index}.bin`, content, 1.5 * MiB) };
    });
    t.teardown(() => stalled.forEach(({ upload }) => upload.request.destroy()));
    const running = Array.from({ length: 48 }, (_, index) => randomContent(2 * MiB + index));
    const replies = await Promise.all(running.map((content, index) => bob.upload(`running-${index}.bin`, content)));
    replies.forEach((reply, index) => {
      t.equal(reply.status, 201, `running upload ${index}: ${JSON.stringify(reply.body)}`);
      t.equal(reply.body.sha256, sha256Hex(running[index]), `running upload ${index}: its digest`);
    });
    const resumed = await Promise.all(stalled.map(({ upload }) => upload.finish()));
    resumed.forEach((reply, index) => {
      t.equal(reply.status, 201, `stalled upload ${index}, resumed: ${JSON.stringify(reply.body)}`);
      t.equal(reply.body.sha256, sha256Hex(stalled[index].content), `stalled upload ${index}: its digest`);
    });
    t.same(await referenceProblems(server, db), []);
  });

  t.test('content_type is a type/subtype of at most 255 bytes, checked before the body is read', async (t) => {
    const before = await storageState(server, db);
    const long = `text/${'x'.repeat(300)}`;
    const raw = await postHeadOnly(server.url, `/cloud/my-drive/?filename=typed.bin&content_type=${long}`, {
      ...auth,
      'content-type': 'application/octet-stream',
      'content-length': 64 * MiB,
    });
    t.same([raw.status, raw.body.code], [400, 'VALIDATION_FAILED'], 'raw: answered without the body');
    const multipart = await alice.uploadParts([
      { name: 'filename', value: 'typed.bin' },
      { name: 'file', filename: 'typed.bin', contentType: long, content: randomContent(1000) },
    ]);
    t.same([multipart.status, multipart.body.code], [400, 'VALIDATION_FAILED'], "multipart: the file part's type");
    const tooLong = await alice.upload('typed.bin', randomContent(1000), { contentType: `a/${'b'.repeat(254)}` });
    t.same([tooLong.status, tooLong.body.code], [400, 'VALIDATION_FAILED'], '256 bytes');
    await assertNothingLeft(t, server, db, before, 'a refused content_type');

    const longest = `a/${'b'.repeat(253)}`;
    t.equal((await alice.upload('typed.bin', randomContent(1000), { contentType: longest })).status, 201, '255 bytes');
    t.equal((await alice.download('typed.bin')).headers['content-type'], longest);
  });
});
