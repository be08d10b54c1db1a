import t from 'tap';
import { restartServer, startServer } from './helpers/build-app.js';
import { Client } from './helpers/client.js';
import { randomContent, sha256Hex } from './helpers/content.js';
import { Drive } from './helpers/drive.js';
import { createBucket, s3StoreConfig, startS3rver } from './helpers/s3-server.js';
import { TusUploads } from './helpers/tus.js';

const MiB = 1024 * 1024;

t.setTimeout(600_000);

/**
 * Two instances on one MariaDB database and one bucket (API.md, "Storage and several
 * instances"): the PATCHes of one upload alternate between them, as a round-robin balancer
 * would send them, and the upload completes as if one server had taken them all.
 */
t.test('mysql: two instances take turns with the PATCHes of one upload', async (t) => {
  const endpoint = await startS3rver(t);
  const bucket = await createBucket(t, endpoint);
  const first = await startServer(t, 'mysql', { blobStore: s3StoreConfig(endpoint, bucket) });
  const second = await restartServer(t, first);
  const token = await new Client(first.url).user('alice');
  const instances = [new TusUploads(new Client(first.url), token), new TusUploads(new Client(second.url), token)];

  const content = randomContent(14 * MiB + 333);
  const location = await instances[0].start('shared.bin', content.length, { sha256: sha256Hex(content) });
  const cuts = [0, 3 * MiB, 6 * MiB, 9 * MiB, 10 * MiB, 13 * MiB, content.length];
  for (let index = 1; index < cuts.length; index++) {
    const instance = instances[index % 2];
    t.equal(
      Number((await instance.head(location)).headers['upload-offset']),
      cuts[index - 1],
      `instance ${(index % 2) + 1} sees the offset`,
    );
    const reply = await instance.patch(location, cuts[index - 1], content.subarray(cuts[index - 1], cuts[index]));
    t.equal(reply.status, 204, `PATCH ${index} on instance ${(index % 2) + 1}`);
    if (index === cuts.length - 1) t.ok(reply.headers['repr-digest'], 'the last one completes');
  }
  for (const url of [first.url, second.url]) {
    const download = await new Drive(new Client(url), token).download('shared.bin');
    t.ok(download.raw.equals(content), `${url}: the whole file`);
  }

  t.test('a request for an upload that a PATCH still holds stops that PATCH, on either instance', async (t) => {
    const body = randomContent(3 * MiB);
    const location = await instances[0].start('taken-over.bin', body.length);
    // A client whose link went quiet mid-PATCH: the server has not noticed yet.
    const stalled = instances[0]
      .patch(
        location,
        0,
        (async function* () {
          yield body.subarray(0, MiB);
          await new Promise((resolve) => setTimeout(resolve, 20_000));
        })() as unknown as NodeJS.ReadableStream,
      )
      .catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const head = await instances[1].head(location);
    t.equal(head.status, 200, 'HEAD on the other instance is answered');
    t.equal(head.headers['upload-offset'], String(MiB), 'after the stalled PATCH stopped and kept its bytes');
    const stale = await instances[1].patch(location, 0, body);
    t.equal(stale.status, 409, 'a PATCH at an old offset');
    t.equal(stale.body.code, 'UPLOAD_OFFSET_MISMATCH');
    const rest = await instances[1].patch(location, MiB, body.subarray(MiB));
    t.equal(rest.status, 204, 'the client resumes on the other instance');
    await stalled;
    t.ok((await new Drive(new Client(first.url), token).download('taken-over.bin')).raw.equals(body));
  });
});
