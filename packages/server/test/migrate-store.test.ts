import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createTestDatabase, type TestDatabase } from '@cloudstore/test-helpers';
import { runProcess, type ProcessRun } from '@cloudstore/test-helpers/run-process';
import type { Knex } from 'knex';
import t, { type Test } from 'tap';
import { forEachDatabase, restartServer, startServerOn, type TestServer } from './helpers/build-app.js';
import { Client } from './helpers/client.js';
import { randomContent, sha256Hex } from './helpers/content.js';
import { Drive } from './helpers/drive.js';
import { startCephRgw } from './helpers/ceph-rgw.js';
import { createBucket, s3Client, s3StoreConfig, type S3Endpoint } from './helpers/s3-server.js';
import { startS3rverProcess } from './helpers/s3rver-process.js';
import { openServerDatabase } from './helpers/storage-state.js';

const MiB = 1024 * 1024;
const SCRIPT = fileURLToPath(new URL('../src/scripts/migrate-store.js', import.meta.url));
const PREFIX = 'content/';

t.setTimeout(600_000);

/** The server's settings for the script, as an operator would export them (nothing else inherited). */
function scriptEnvironment(database: TestDatabase, endpoint: S3Endpoint | null, bucket: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    DATA_DIR: database.dataDir,
    ...(database.databaseUrl && { DATABASE_URL: database.databaseUrl }),
    JWT_SECRET: 'x'.repeat(32),
    ...(endpoint && {
      BLOB_STORE: `s3://${bucket}/${PREFIX}`,
      AWS_ENDPOINT_URL_S3: endpoint.url,
      AWS_ACCESS_KEY_ID: endpoint.accessKeyId,
      AWS_SECRET_ACCESS_KEY: endpoint.secretAccessKey,
      AWS_REGION: 'us-east-1',
      S3_FORCE_PATH_STYLE: 'true',
    }),
  };
}

/** `pnpm migrate-store` as a process; `onStart` may kill it. */
function runScript(env: NodeJS.ProcessEnv, args: string[] = [], onStart?: (kill: () => void) => void): Promise<ProcessRun> {
  return runProcess(process.execPath, [SCRIPT, ...args], {
    env,
    cwd: env.DATA_DIR,
    onStart: (child) => onStart?.(() => child.kill('SIGKILL')),
  });
}

async function mappedDigests(db: Knex): Promise<string[]> {
  return (await db('blob_objects').orderBy('sha256').select('sha256')).map((row: { sha256: string }) => row.sha256);
}

/** The file store's path of a digest. */
const blobPath = (dataDir: string, sha256: string) => path.join(dataDir, 'blobs', sha256.slice(0, 2), sha256.slice(2, 4), sha256);

/** Every file downloads, through a server on S3 (the old directory moved away), with its bytes. */
async function checkServedFromS3(
  t: Test,
  server: TestServer,
  endpoint: S3Endpoint,
  bucket: string,
  files: Map<string, { drive: Drive; content: Buffer }>,
) {
  await server.app.close();
  await rename(path.join(server.dataDir, 'blobs'), path.join(server.dataDir, 'blobs.old'));
  const onS3 = await restartServer(t, server, { blobStore: s3StoreConfig(endpoint, bucket, endpoint.url, PREFIX) });
  for (const [filename, { drive, content }] of files) {
    const reply = await new Drive(new Client(onS3.url), drive.token).download(filename);
    t.equal(reply.status, 200, `${filename}: 200 from the server on S3`);
    t.equal(sha256Hex(reply.raw), sha256Hex(content), `${filename}: the bytes match their digest`);
    t.equal(reply.headers.etag, `"${sha256Hex(content)}"`);
  }
}

forEachDatabase(t, async (t, kind) => {
  const endpoint = await startS3rverProcess(t);
  const client = s3Client(t, endpoint);
  const objectsIn = async (bucket: string) =>
    ((await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: PREFIX }))).Contents ?? []).length;

  t.test('refuses without an S3 store, or with one that does not answer', async (t) => {
    const database = await createTestDatabase(t, kind);
    const run = await runScript(scriptEnvironment(database, null, ''));
    t.equal(run.code, 2, 'exit 2');
    t.match(run.stderr, /BLOB_STORE must name the S3 store/);
    t.match(run.stderr, /usage: pnpm migrate-store/);
    const unknown = await runScript(scriptEnvironment(database, endpoint, 'whatever'), ['--force']);
    t.equal(unknown.code, 2, 'an unknown option is exit 2');
    const unreachable = await runScript({
      ...scriptEnvironment(database, endpoint, 'cloudstore-nowhere'),
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9',
    });
    t.equal(unreachable.code, 1, 'a store that does not answer is exit 1');
    t.match(unreachable.stderr, /migrate-store: BLOB_STORE s3:\/\/cloudstore-nowhere\/content\/: /);
  });

  t.test('copies a seeded store, refuses a corrupted and a missing blob, re-runs as a no-op, then serves from S3', async (t) => {
    const database = await createTestDatabase(t, kind);
    const bucket = await createBucket(t, endpoint);
    const server = await startServerOn(t, kind, database);
    const http = new Client(server.url);
    const alice = await Drive.register(http, 'alice');
    const bob = await Drive.register(http, 'bob');
    const files = new Map<string, { drive: Drive; content: Buffer }>([
      ['empty.txt', { drive: alice, content: Buffer.alloc(0) }],
      ['small.bin', { drive: alice, content: randomContent(1000) }],
      ['big.bin', { drive: alice, content: randomContent(9 * MiB + 7) }],
      ['corrupt.bin', { drive: alice, content: randomContent(4096) }],
      ['gone.bin', { drive: alice, content: randomContent(2048) }],
    ]);
    files.set('same.bin', { drive: bob, content: files.get('small.bin')!.content });
    for (const [filename, { drive, content }] of files)
      t.equal((await drive.upload(filename, content)).status, 201, `uploaded ${filename}`);
    const db = await openServerDatabase(t, server);
    const corrupt = files.get('corrupt.bin')!.content;
    const corruptPath = blobPath(server.dataDir, sha256Hex(corrupt));
    const flipped = Buffer.from(corrupt);
    flipped[100] ^= 0xff;
    await writeFile(corruptPath, flipped);
    const gone = files.get('gone.bin')!.content;
    const gonePath = blobPath(server.dataDir, sha256Hex(gone));
    await rename(gonePath, `${gonePath}.away`);
    const env = scriptEnvironment(database, endpoint, bucket);

    const dry = await runScript(env, ['--dry-run']);
    t.equal(dry.code, 3, 'dry run: exit 3, a file is missing');
    t.match(dry.stdout, /dry run: 5 blobs: would copy 4 \(9\.0 MiB\), 0 on S3 already, 1 not copied/);
    t.match(dry.stderr, new RegExp(`${sha256Hex(gone)}: no file at ${gonePath}: not copied`));
    t.equal(await objectsIn(bucket), 0, 'a dry run writes nothing to the bucket');
    t.same(await mappedDigests(db), [], 'nor to the database');

    const first = await runScript(env);
    t.equal(first.code, 3, `exit 3: finished, some not copied (${first.stderr})`);
    t.match(first.stdout, /5 blobs: copied 3 \(9\.0 MiB\), 0 on S3 already, 2 not copied/);
    t.match(first.stderr, new RegExp(`${sha256Hex(corrupt)}: its bytes hash to ${sha256Hex(flipped)}: not copied`));
    t.match(first.stderr, new RegExp(`${sha256Hex(gone)}: no file at`));
    const refused = [sha256Hex(corrupt), sha256Hex(gone)];
    const expected = [...new Set([...files.values()].map(({ content }) => sha256Hex(content)))].filter(
      (digest) => !refused.includes(digest),
    );
    t.same(await mappedDigests(db), expected.sort(), 'every good blob is mapped, the corrupted and the missing ones are not');
    t.equal(await objectsIn(bucket), 3, 'and the corrupted copy left no object behind');

    const again = await runScript(env);
    t.equal(again.code, 3, `a re-run still reports the corrupted blob (${again.stderr})`);
    t.match(again.stdout, /5 blobs: copied 0 \(0 B\), 3 on S3 already, 2 not copied/, 'and copies nothing');
    t.equal(await objectsIn(bucket), 3);

    await writeFile(corruptPath, corrupt);
    await rename(`${gonePath}.away`, gonePath);
    const repaired = await runScript(env);
    t.equal(repaired.code, 0, 'once the files are restored: exit 0');
    t.match(repaired.stdout, /5 blobs: copied 2 \(6\.0 KiB\), 3 on S3 already, 0 not copied/);

    await checkServedFromS3(t, server, endpoint, bucket, files);
  });

  t.test('an interrupted run resumes where it stopped', async (t) => {
    const database = await createTestDatabase(t, kind);
    const bucket = await createBucket(t, endpoint);
    const server = await startServerOn(t, kind, database);
    const alice = await Drive.register(new Client(server.url), 'alice');
    const files = new Map<string, { drive: Drive; content: Buffer }>();
    for (let index = 0; index < 16; index++) {
      const content = randomContent(2 * MiB + index);
      files.set(`part-${index}.bin`, { drive: alice, content });
      t.equal((await alice.upload(`part-${index}.bin`, content)).status, 201);
    }
    const db = await openServerDatabase(t, server);
    const env = scriptEnvironment(database, endpoint, bucket);

    const interrupted = await runScript(env, [], (kill) => {
      const poll = setInterval(() => {
        void mappedDigests(db).then((digests) => {
          if (digests.length === 0) return;
          clearInterval(poll);
          kill();
        });
      }, 10);
    });
    t.equal(interrupted.code, null, 'the first run was killed');
    const copiedBefore = (await mappedDigests(db)).length;
    t.ok(copiedBefore > 0 && copiedBefore < files.size, `it had copied ${copiedBefore} of ${files.size}`);

    const resumed = await runScript(env);
    t.equal(resumed.code, 0, `the second run finishes (${resumed.stderr})`);
    t.match(
      resumed.stdout,
      new RegExp(`16 blobs: copied ${files.size - copiedBefore} \\(.*\\), ${copiedBefore} on S3 already, 0 not copied`),
    );
    t.equal((await mappedDigests(db)).length, files.size);

    await checkServedFromS3(t, server, endpoint, bucket, files);
  });
});

// A real engine (skipped where Ceph is not installed, as in CI: CONTRIBUTING.md says how to run it).
t.test('on Ceph RGW, with MariaDB', async (t) => {
  const endpoint = await startCephRgw(t);
  if ('skip' in endpoint) return t.skip(endpoint.skip, () => {});
  const bucket = await createBucket(t, endpoint);
  const database = await createTestDatabase(t, 'mysql');
  const server = await startServerOn(t, 'mysql', database);
  const alice = await Drive.register(new Client(server.url), 'alice');
  const files = new Map<string, { drive: Drive; content: Buffer }>([
    ['empty.txt', { drive: alice, content: Buffer.alloc(0) }],
    ['small.bin', { drive: alice, content: randomContent(1000) }],
    ['big.bin', { drive: alice, content: randomContent(9 * MiB + 7) }],
  ]);
  for (const [filename, { drive, content }] of files) t.equal((await drive.upload(filename, content)).status, 201, `uploaded ${filename}`);
  const env = scriptEnvironment(database, endpoint, bucket);
  const run = await runScript(env);
  t.equal(run.code, 0, `exit 0 (${run.stderr})`);
  t.match(run.stdout, /3 blobs: copied 3 \(9\.0 MiB\), 0 on S3 already, 0 not copied/);
  const again = await runScript(env);
  t.match(again.stdout, /3 blobs: copied 0 \(0 B\), 3 on S3 already, 0 not copied/, 'a second run copies nothing');
  await checkServedFromS3(t, server, endpoint, bucket, files);
});

// The script's own file is what `pnpm migrate-store` runs.
t.test('the root script runs this file', async (t) => {
  const root = JSON.parse(await readFile(new URL('../../../../package.json', import.meta.url), 'utf8'));
  t.match(root.scripts['migrate-store'], /node packages\/server\/dist\/src\/scripts\/migrate-store\.js/);
});
