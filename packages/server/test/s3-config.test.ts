import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadConfig } from '../src/config.js';
import { startS3rver } from './helpers/s3-server.js';

const mainScript = fileURLToPath(new URL('../src/main.js', import.meta.url));

t.test('BLOB_STORE: file by default, or s3://BUCKET[/PREFIX] with the AWS variables', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'cloudstore-s3-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  t.same(loadConfig({}, dir).blobStore, { kind: 'file' });
  t.same(loadConfig({ BLOB_STORE: 'file' }, dir).blobStore, { kind: 'file' });
  t.same(
    loadConfig(
      {
        BLOB_STORE: 's3://my-bucket/cloud/store/',
        AWS_REGION: 'eu-west-3',
        AWS_ACCESS_KEY_ID: 'AK',
        AWS_SECRET_ACCESS_KEY: 'SK',
        AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000',
        S3_FORCE_PATH_STYLE: 'true',
      },
      dir,
    ).blobStore,
    {
      kind: 's3',
      bucket: 'my-bucket',
      prefix: 'cloud/store/',
      region: 'eu-west-3',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      partBuffers: 8,
      credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
    },
  );
  t.match(loadConfig({ BLOB_STORE: 's3://my-bucket' }, dir).blobStore, {
    bucket: 'my-bucket',
    prefix: '',
    region: 'us-east-1',
    credentials: null,
    forcePathStyle: false,
    partBuffers: 8,
  });
  t.equal((loadConfig({ BLOB_STORE: 's3://my-bucket', S3_PART_BUFFERS: '2' }, dir).blobStore as { partBuffers: number }).partBuffers, 2);
  for (const [env, key] of [
    [{ BLOB_STORE: 'disk' }, 'BLOB_STORE'],
    [{ BLOB_STORE: 's3://' }, 'BLOB_STORE'],
    [{ BLOB_STORE: 's3://Upper_Case' }, 'BLOB_STORE'],
    [{ BLOB_STORE: 's3://ok-bucket/a//b' }, 'BLOB_STORE'],
    [{ BLOB_STORE: 's3://ok-bucket', AWS_ENDPOINT_URL_S3: 'localhost:9000' }, 'AWS_ENDPOINT_URL_S3'],
    [{ BLOB_STORE: 's3://ok-bucket', AWS_ACCESS_KEY_ID: 'AK' }, 'AWS_ACCESS_KEY_ID'],
    [{ BLOB_STORE: 's3://ok-bucket', S3_FORCE_PATH_STYLE: 'sometimes' }, 'S3_FORCE_PATH_STYLE'],
    [{ BLOB_STORE: 's3://ok-bucket', S3_PART_BUFFERS: '0' }, 'S3_PART_BUFFERS'],
  ] as const) {
    t.throws(() => loadConfig(env, dir), { name: 'ConfigError', message: new RegExp(key) }, JSON.stringify(env));
  }
});

t.test('a missing bucket stops the start with one line', async (t) => {
  const endpoint = await startS3rver(t);
  const dir = await mkdtemp(path.join(tmpdir(), 'cloudstore-s3-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [mainScript], {
    cwd: dir,
    env: {
      PATH: process.env.PATH,
      BLOB_STORE: 's3://no-such-bucket/content',
      AWS_ENDPOINT_URL_S3: endpoint.url,
      AWS_ACCESS_KEY_ID: endpoint.accessKeyId,
      AWS_SECRET_ACCESS_KEY: endpoint.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
      // The SDK's own multi-line notice that it will need Node 22 from 2027.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [code] = await once(child, 'exit');
  t.equal(code, 1);
  t.equal(stderr, 'cloudstore: cannot start: BLOB_STORE s3://no-such-bucket/content/: the bucket does not exist (NoSuchBucket)\n');
});
