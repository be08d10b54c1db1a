import { createHmac } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '@cloudstore/test-helpers';
import type { Knex } from 'knex';
import type { Test } from 'tap';
import { openDatabase } from '../src/db/open.js';
import { startServerOn, type TestServer } from './helpers/build-app.js';
import { Client } from './helpers/client.js';
import { proofDigest, randomContent, sha256Hex } from './helpers/content.js';
import { Drive } from './helpers/drive.js';
import { heldUpload, postHeadOnly } from './helpers/raw-http.js';
import { RoundRobin } from './helpers/round-robin.js';
import { createBucket, s3Client, s3StoreConfig, type S3Endpoint } from './helpers/s3-server.js';
import { openServerDatabase } from './helpers/storage-state.js';
import { eventually } from './helpers/waiting.js';

// API.md: with MySQL/MariaDB and S3, any number of instances serve the same users; SQLite or the
// file store means one instance. So these run on MariaDB and S3: instances.test.ts on s3rver,
// instances-ceph.test.ts on Ceph RGW where it is installed.

const MiB = 1024 * 1024;
const UPLOADS_PER_USER = 2;
const DEDUP_THRESHOLD_MAX = 3;

const mainScript = fileURLToPath(new URL('../src/main.js', import.meta.url));

interface ServerProcess {
  child: ChildProcess;
  /** The address it serves, once its start line came. */
  url: Promise<string>;
  output: () => string;
}

/** The built server (main.js) as its own process, in a folder of its own; killed when `t` ends. */
async function spawnServer(t: Test, env: Record<string, string>): Promise<ServerProcess> {
  const dir = await tempDir(t);
  const child = spawn(process.execPath, [mainScript], {
    cwd: dir,
    env: { PATH: process.env.PATH, PORT: '0', LOG_LEVEL: 'info', DATA_DIR: path.join(dir, 'data'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  });
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const started = /"address":"(http:\/\/[^"]+)"/.exec(output);
      if (started) resolve(started[1]);
    });
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('exit', (code, signal) => reject(new Error(`the server exited (${code ?? signal}) before serving:\n${output}`)));
  });
  url.catch(() => {});
  return { child, url, output: () => output };
}

function storeEnvironment(endpoint: S3Endpoint, bucket: string): Record<string, string> {
  return {
    BLOB_STORE: `s3://${bucket}/content`,
    AWS_ENDPOINT_URL_S3: endpoint.url,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: endpoint.accessKeyId,
    AWS_SECRET_ACCESS_KEY: endpoint.secretAccessKey,
    AWS_REGION: 'us-east-1',
  };
}

/** A temporary folder, removed when `t` ends. */
export async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cloudstore-instance-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** API.md's disclosure point T of `content`, under the key the instances keep in the database. */
async function disclosurePoint(db: Knex, content: Buffer): Promise<number> {
  const { value } = await db('server_secrets').where('name', 'disclosure').first('value');
  const mac = createHmac('sha256', Buffer.from(String(value), 'base64url'))
    .update(Buffer.from(sha256Hex(content), 'hex'))
    .digest('hex');
  return 2 + Number(BigInt(`0x${mac}`) % BigInt(DEDUP_THRESHOLD_MAX - 1));
}

/**
 * Two app instances on one MariaDB database and a bucket of their own on `endpoint`, behind a
 * load balancer that sends every request to the next one in turn: what one instance does, the
 * other sees.
 */
export async function twoInstanceCases(t: Test, endpoint: S3Endpoint): Promise<void> {
  const bucket = await createBucket(t, endpoint);
  const s3 = s3Client(t, endpoint);
  const database = await createTestDatabase(t, 'mysql');
  const settings = {
    jwtSecret: null,
    blobStore: s3StoreConfig(endpoint, bucket),
    dedupThresholdMax: DEDUP_THRESHOLD_MAX,
    uploadsPerUser: UPLOADS_PER_USER,
  };
  // Both start at once on the empty database: migrations and secrets are made by whichever comes first.
  const instances: TestServer[] = await Promise.all([
    startServerOn(t, 'mysql', database, settings),
    startServerOn(t, 'mysql', { ...database, dataDir: await tempDir(t) }, settings),
  ]);
  const [one, two] = instances;
  const balancer = await RoundRobin.start(t, [one.url, two.url]);
  const client = new Client(balancer.url);
  const db = await openServerDatabase(t, one);
  const at = (instance: TestServer, drive: Drive) => new Drive(new Client(instance.url), drive.token);
  const [alice, bob, carol, dave] = [
    await Drive.register(client, 'alice'),
    await Drive.register(client, 'bob'),
    await Drive.register(client, 'carol'),
    await Drive.register(client, 'dave'),
  ];
  const objects = async () =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'content/' }))).Contents ?? []).map((object) => object.Key!);

  t.test('one token key, kept in the database: a token from either instance works on both', async (t) => {
    const rows = await db('server_secrets').select('name');
    t.same(rows.map((row) => row.name).sort(), ['disclosure', 'token'], 'the token key and the existence-privacy key, made once');
    for (const issuer of instances) {
      const login = await new Client(issuer.url).login('alice');
      t.equal(login.status, 200);
      for (const checker of instances) t.equal((await new Client(checker.url).call('GET', '/me', { token: login.body.token })).status, 200);
    }
  });

  t.test('raw and multipart uploads, downloads whole and by ranges, through both instances', async (t) => {
    const from = balancer.served.length;
    const big = randomContent(9 * MiB + 7);
    const small = randomContent(300 * 1024);
    t.equal((await alice.upload('big.bin', big)).status, 201, 'raw upload');
    t.equal((await alice.uploadForm('small.bin', small)).status, 201, 'multipart upload');
    for (let round = 0; round < 2; round++) {
      const whole = await alice.download('big.bin');
      t.ok(whole.status === 200 && whole.raw.equals(big), `whole download, round ${round + 1}`);
      const part = await alice.download('big.bin', { range: `bytes=${8 * MiB - 3}-${8 * MiB + 3}` });
      t.equal(part.status, 206);
      t.ok(part.raw.equals(big.subarray(8 * MiB - 3, 8 * MiB + 4)), 'the range, across a part boundary');
      t.ok((await alice.download('small.bin')).raw.equals(small));
    }
    t.same(balancer.counts(from), [4, 4], 'each instance served half of the requests');
  });

  t.test('a claim challenged by one instance is proved to the other', async (t) => {
    const content = randomContent(64 * 1024);
    t.equal((await alice.upload('claimed.bin', content)).status, 201);
    const { nonce, ranges } = await at(one, alice).challenge('claimed-copy.bin', content);
    const proved = await at(two, alice).claim('claimed-copy.bin', content, {
      proof: { nonce, digest: proofDigest(nonce, ranges, content) },
    });
    t.equal(proved.status, 201);
    t.equal(proved.body.deduplicated, true);
    const reused = await at(one, alice).claim('claimed-again.bin', content, {
      proof: { nonce, digest: proofDigest(nonce, ranges, content) },
    });
    t.equal(reused.status, 403, 'the nonce, used at the other instance, is spent on this one too');
    t.equal(reused.body.code, 'PROOF_INVALID');
  });

  t.test('a delete at one instance: the content is gone from the store and from the other', async (t) => {
    const content = randomContent(100 * 1024);
    t.equal((await at(one, bob).upload('doomed.bin', content)).status, 201);
    const before = (await objects()).length;
    t.equal((await at(two, bob).delete('doomed.bin')).status, 200);
    t.ok(await eventually(async () => (await objects()).length === before - 1, 5000), 'its object is removed within 5 s');
    t.equal((await db('blobs').where('sha256', sha256Hex(content))).length, 0, 'and its row');
    t.equal((await at(one, bob).download('doomed.bin')).status, 404);
    t.equal((await at(one, bob).claim('doomed.bin', content)).body.code, 'CONTENT_UNKNOWN');
  });

  t.test('existence privacy: both instances draw the same disclosure point', async (t) => {
    const content = randomContent(2048);
    const point = await disclosurePoint(db, content);
    const owners = [alice, carol, dave];
    for (let count = 1; count <= point; count++) {
      t.equal((await owners[count - 1].upload(`popular-${count}.bin`, content)).status, 201);
      const expected = count >= point ? 428 : 404;
      for (const instance of instances) {
        const reply = await at(instance, bob).claim('popular.bin', content);
        t.equal(reply.status, expected, `${count} owner(s), T = ${point}: ${expected} from ${instance.url}`);
      }
    }
  });

  t.test('sharing at one instance, read and listed at the other; a cursor of one read by the other', async (t) => {
    for (const name of ['shared-a.txt', 'shared-b.txt', 'shared-c.txt']) {
      t.equal((await at(one, carol).upload(name, Buffer.from(name))).status, 201);
      const permit = await new Client(one.url).call('POST', '/cloud/drive-permit/', {
        token: carol.token,
        json: { filename: name, username: 'dave' },
      });
      t.equal(permit.status, 201);
    }
    t.equal((await at(two, dave).download('shared-b.txt', {}, 'carol')).raw.toString(), 'shared-b.txt');
    const listed: string[] = [];
    let cursor: string | null = '';
    for (let page = 0; cursor !== null; page++) {
      const instance = instances[page % 2];
      const query = `?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const reply = await new Client(instance.url).call('GET', `/cloud/drive-permit/${query}`, { token: dave.token });
      t.equal(reply.status, 200, `page ${page + 1} from ${instance.url}`);
      listed.push(
        ...reply.body.files.filter((file: { owner: string }) => file.owner === 'carol').map((file: { filename: string }) => file.filename),
      );
      cursor = reply.body.next_cursor;
    }
    t.same(listed, ['shared-a.txt', 'shared-b.txt', 'shared-c.txt']);
  });

  t.test('failed logins spread over both instances add up to the limit', async (t) => {
    const mallory = new Client(balancer.url);
    await mallory.register('target');
    const from = balancer.served.length;
    for (let attempt = 1; attempt <= 10; attempt++) t.equal((await mallory.login('target', 'wrong guess')).status, 401);
    t.same(balancer.counts(from), [5, 5], 'five failures at each instance');
    for (const instance of instances) {
      const refused = await new Client(instance.url).login('target');
      t.equal(refused.status, 429, `the right password, at ${instance.url}`);
      t.equal(refused.body.code, 'RATE_LIMITED');
    }
  });

  t.test('a logout at one instance revokes the token at the other', async (t) => {
    const login = await new Client(one.url).login('bob');
    t.equal((await new Client(two.url).call('GET', '/me', { token: login.body.token })).status, 200);
    t.equal((await new Client(one.url).call('POST', '/logout', { token: login.body.token })).status, 204);
    const after = await new Client(two.url).call('GET', '/me', { token: login.body.token });
    t.equal(after.status, 401);
    t.equal(after.body.code, 'UNAUTHENTICATED');
  });

  t.test('uploads of one user arriving at both instances at once: exactly UPLOADS_PER_USER are taken', async (t) => {
    const burst = Array.from({ length: 10 }, (_, index) =>
      heldUpload(instances[index % 2].url, carol.token, `burst-${index}.bin`, randomContent(MiB), 1024),
    );
    t.teardown(() => burst.forEach(({ request }) => request.destroy()));
    let refused = 0;
    for (const { replied } of burst)
      replied.then(
        (reply) => reply.status === 429 && refused++,
        () => {},
      );
    const slots = async () => Number((await db('upload_slots').count({ n: '*' }).first())?.n);
    t.ok(await eventually(async () => refused === burst.length - UPLOADS_PER_USER, 10_000), `${burst.length - UPLOADS_PER_USER} refused`);
    t.equal(await slots(), UPLOADS_PER_USER, `${UPLOADS_PER_USER} slots taken`);
    burst.forEach(({ request }) => request.destroy());
    t.ok(await eventually(async () => (await slots()) === 0), 'all given back when the uploads are cut');
  });

  t.test(`UPLOADS_PER_USER (${UPLOADS_PER_USER}) holds across instances`, async (t) => {
    const content = randomContent(MiB);
    const held = [
      heldUpload(one.url, dave.token, 'slot-1.bin', content, 1024),
      heldUpload(two.url, dave.token, 'slot-2.bin', content, 1024),
    ];
    t.teardown(() => held.forEach(({ request }) => request.destroy()));
    t.ok(
      await eventually(async () => Number((await db('upload_slots').count({ n: '*' }).first())?.n) === 2),
      'two slots taken, one at each',
    );
    for (const instance of instances) {
      const refused = await postHeadOnly(instance.url, '/cloud/my-drive/?filename=one-too-many.bin', {
        authorization: `Bearer ${dave.token}`,
        'content-type': 'application/octet-stream',
        'content-length': content.length,
      });
      t.equal(refused.status, 429, `the third, at ${instance.url}, before its body`);
      t.equal(refused.headers['retry-after'], '1');
    }
    t.equal((await at(one, alice).upload('another-user.bin', content)).status, 201, 'another user is unaffected');
    t.equal((await held[0].finish()).status, 201, 'a held upload finishes');
    t.ok(
      await eventually(async () => (await at(two, dave).upload('now-there-is-room.bin', content)).status === 201),
      'its slot is free for the other instance',
    );
    held[1].request.destroy();
    t.ok(
      await eventually(async () => Number((await db('upload_slots').count({ n: '*' }).first())?.n) === 0),
      'a cut upload gives its slot back',
    );
  });
}

/**
 * Three built servers (main.js) started as processes at the same moment on an empty MariaDB
 * database and a bucket of their own on `endpoint`: all come up, and a crash gives its slot back.
 */
export async function simultaneousStartCases(t: Test, endpoint: S3Endpoint): Promise<void> {
  const bucket = await createBucket(t, endpoint);
  const database = await createTestDatabase(t, 'mysql');
  const leaseMs = 3000;
  const env = {
    DATABASE_URL: database.databaseUrl!,
    ...storeEnvironment(endpoint, bucket),
    UPLOADS_PER_USER: '1',
    UPLOAD_SLOT_LEASE_MS: String(leaseMs),
  };
  const processes = await Promise.all([spawnServer(t, env), spawnServer(t, env), spawnServer(t, env)]);
  const urls = await Promise.all(processes.map((server) => server.url));
  t.equal(new Set(urls).size, 3, 'three processes serving');
  const db = await openDatabase({ ...database, logLevel: 'silent' });
  t.teardown(() => db.destroy());
  const migrations = await db('knex_migrations').select('name');
  t.equal(new Set(migrations.map((row) => row.name)).size, migrations.length, 'each migration ran once');
  t.same(await db('knex_migrations_lock').select('is_locked'), [{ is_locked: 0 }], "one row in Knex's lock table, unlocked");
  t.equal((await db('server_secrets').where('name', 'token')).length, 1, 'one token key');

  const [first, second, third] = urls.map((url) => new Client(url));
  const token = await first.user('frank');
  const content = randomContent(3 * MiB);
  t.equal((await new Drive(second, token).upload('across.bin', content)).status, 201, 'a token of the first, an upload at the second');
  t.ok((await new Drive(third, token).download('across.bin')).raw.equals(content), 'downloaded from the third');

  t.test('an instance that dies holding an upload slot: the slot comes back once its lease runs out', async (t) => {
    const held = heldUpload(urls[0], token, 'orphan.bin', content, 1024);
    t.teardown(() => held.request.destroy());
    t.ok(await eventually(async () => (await db('upload_slots')).length === 1), 'the upload holds the one slot');
    processes[0].child.kill('SIGKILL');
    await once(processes[0].child, 'exit');
    const killedAt = Date.now();
    const headOnly = () =>
      postHeadOnly(urls[1], '/cloud/my-drive/?filename=after-crash.bin', {
        authorization: `Bearer ${token}`,
        'content-type': 'application/octet-stream',
        'content-length': content.length,
      });
    t.equal((await headOnly()).status, 429, 'right after the crash the slot is still taken');
    t.ok(
      await eventually(async () => (await new Drive(second, token).upload('after-crash.bin', content)).status === 201, leaseMs + 5000, 200),
    );
    const waited = Date.now() - killedAt;
    t.ok(waited <= leaseMs + 2000, `the slot came back ${waited} ms after the crash (lease ${leaseMs} ms)`);
  });
}
