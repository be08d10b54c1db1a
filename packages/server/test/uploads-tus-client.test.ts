import { Upload, type UploadOptions } from 'tus-js-client';
import t from 'tap';
import { forEachDatabase } from './helpers/build-app.js';
import { randomContent, sha256Hex } from './helpers/content.js';
import { CountingProxy } from './helpers/counting-proxy.js';
import { startFileServer } from './helpers/file-server.js';

const MiB = 1024 * 1024;

/** Runs one tus-js-client upload to its end (resolves with its URL), or until `stopAt(bytesSent)` says to abort it. */
function runUpload(content: Buffer, options: UploadOptions, stopAt: (bytesSent: number) => boolean = () => false): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const upload: Upload = new Upload(content, {
      ...options,
      onProgress: (bytesSent) => {
        if (!stopAt(bytesSent)) return;
        void upload.abort().then(() => resolve(upload.url));
      },
      onSuccess: () => resolve(upload.url),
      onError: reject,
    });
    upload.start();
  });
}

/** tus-js-client 4, unchanged but for the bearer token, against the server (API.md: existing tus clients work). */
forEachDatabase(t, async (t, kind) => {
  const {
    server,
    drives: [alice],
  } = await startFileServer(t, kind, ['alice']);
  const proxy = await CountingProxy.start(t, server.url);
  const content = randomContent(48 * MiB + 17);
  const options: UploadOptions = {
    endpoint: `${proxy.url}/cloud/uploads/`,
    headers: { authorization: `Bearer ${alice.token}` },
    metadata: { filename: 'client.bin', content_type: 'application/x-test', sha256: sha256Hex(content) },
    retryDelays: [],
  };

  t.test('an upload aborted at 40 % resumes from its URL and sends under 1.2x the file in all', async (t) => {
    const url = await runUpload(content, options, (bytesSent) => bytesSent >= 0.4 * content.length);
    t.match(url, /\/cloud\/uploads\/[0-9a-f]{32}$/, 'the first attempt had an upload URL');
    const sentBefore = proxy.bytesFromClients;
    t.ok(sentBefore < content.length, `aborted after ${(sentBefore / MiB).toFixed(1)} MiB`);
    const resumedUrl = await runUpload(content, { ...options, uploadUrl: url });
    t.equal(resumedUrl, url, 'the second attempt resumed the same upload');
    const ratio = proxy.bytesFromClients / content.length;
    t.ok(ratio < 1.2, `${ratio.toFixed(3)}x the file's bytes sent in all`);
    const download = await alice.download('client.bin');
    t.ok(download.raw.equals(content), 'the file arrived whole');
    t.equal(download.headers['content-type'], 'application/x-test');
  });

  t.test('several PATCHes (chunkSize) and a creation with upload', async (t) => {
    const small = randomContent(3 * MiB + 5);
    await runUpload(small, { ...options, metadata: { filename: 'chunks.bin' }, chunkSize: MiB });
    t.ok((await alice.download('chunks.bin')).raw.equals(small));
    await runUpload(small, { ...options, metadata: { filename: 'with-upload.bin' }, uploadDataDuringCreation: true });
    t.ok((await alice.download('with-upload.bin')).raw.equals(small));
  });
});
