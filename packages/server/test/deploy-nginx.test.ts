import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createTestDatabase } from '@cloudstore/test-helpers';
import { freePort, NGINX_TEMPORARY_KINDS, renderShippedNginx } from '@cloudstore/test-helpers/shipped-nginx';
import t, { type Test } from 'tap';
import { Agent, request, setGlobalDispatcher } from 'undici';
import { startServerOn } from './helpers/build-app.js';
import { Client } from './helpers/client.js';
import { randomContent, sha256Hex } from './helpers/content.js';
import { Drive, reprDigestOf } from './helpers/drive.js';
import { createBucket, s3StoreConfig } from './helpers/s3-server.js';
import { startS3rverProcess } from './helpers/s3rver-process.js';
import { eventually, sleep } from './helpers/waiting.js';

const NGINX = '/usr/sbin/nginx';
const OPENSSL = '/usr/bin/openssl';
const MiB = 1024 * 1024;
const BIG = 64 * MiB;

t.setTimeout(600_000);

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

interface Nginx {
  process: ChildProcess;
  prefix: string;
  accessLog: string;
  httpPort: number;
  httpsPort: number;
}

/** The shipped config in front of `upstreams`, nginx in the foreground with a prefix of its own; stopped when `t` ends. */
async function startNginx(t: Test, upstreams: [number, number]): Promise<Nginx> {
  const prefix = await mkdtemp(path.join(tmpdir(), 'cloudstore-nginx-'));
  // As root, nginx's workers run as www-data (as shipped), and must reach their temporary folders.
  await chmod(prefix, 0o755);
  t.teardown(() => rm(prefix, { recursive: true, force: true }));
  const at = (name: string) => path.join(prefix, name);
  await promisify(execFile)(OPENSSL, [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', at('key.pem'), '-out', at('cert.pem'), '-days', '1', '-subj', '/CN=localhost'],
  ]);
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const config = await renderShippedNginx({
    prefix,
    upstreams,
    redirectPort: httpPort,
    port: httpsPort,
    tls: { cert: at('cert.pem'), key: at('key.pem') },
  });
  await writeFile(at('nginx.conf'), config);
  const child = spawn(NGINX, ['-p', prefix, '-c', at('nginx.conf'), '-e', 'stderr', '-g', 'daemon off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  t.teardown(async () => {
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  });
  if (!(await eventually(() => accepts(httpsPort), 10_000))) throw new Error(`nginx did not start: ${errors}`);
  return { process: child, prefix, accessLog: at('cloudstore.log'), httpPort, httpsPort };
}

/** Files that nginx's workers hold open in its temporary folders (a buffered body is unlinked, but stays open). */
async function temporaryFilesHeld(nginx: Nginx): Promise<string[]> {
  const held: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // The parent's pid is the fourth field, after the command in parentheses.
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== nginx.process.pid) continue;
    for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (NGINX_TEMPORARY_KINDS.some((kind) => target.startsWith(path.join(nginx.prefix, `${kind}-temp`)))) held.push(target);
    }
  }
  return held;
}

/** An HTTPS agent for the test's self-signed certificate, connecting from `localAddress` (any 127.x address reaches loopback). */
const agentFrom = (localAddress = '127.0.0.1') => new Agent({ localAddress, connect: { rejectUnauthorized: false } });

/** A request whose headers say `contentLength` and that sends no body: the answer must come before any byte. */
function declaredBodyAnswer(nginx: Nginx, token: string, contentLength: number): Promise<{ status: number; type: string; body: unknown }> {
  return new Promise((resolve, reject) => {
    const outgoing = https.request({
      host: '127.0.0.1',
      port: nginx.httpsPort,
      method: 'POST',
      path: '/cloud/my-drive/?filename=huge.bin',
      rejectUnauthorized: false,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(contentLength) },
    });
    outgoing.on('response', async (response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      outgoing.destroy();
      const text = Buffer.concat(chunks).toString();
      resolve({ status: response.statusCode!, type: String(response.headers['content-type']), body: JSON.parse(text) });
    });
    outgoing.on('error', reject);
    outgoing.flushHeaders();
  });
}

t.test('the shipped nginx config in front of two instances (MariaDB, S3)', async (t) => {
  if (!existsSync(NGINX)) return t.skip(`nginx is not installed (${NGINX} missing; Debian: apt-get install nginx-light)`, () => {});
  if (!existsSync(OPENSSL)) return t.skip(`openssl is not installed (${OPENSSL} missing): no certificate for the HTTPS server`, () => {});
  // Several instances need MariaDB and S3 (API.md, "Storage and several instances"): SQLite is one instance.
  const database = await createTestDatabase(t, 'mysql');
  const endpoint = await startS3rverProcess(t);
  const bucket = await createBucket(t, endpoint);
  const settings = { blobStore: s3StoreConfig(endpoint, bucket), jwtSecret: randomBytes(32).toString('hex'), trustProxy: 1 };
  const instances = [await startServerOn(t, 'mysql', database, settings), await startServerOn(t, 'mysql', database, settings)];
  const ports = instances.map((instance) => Number(new URL(instance.url).port)) as [number, number];
  const nginx = await startNginx(t, ports);
  const agent = agentFrom();
  setGlobalDispatcher(agent);
  const base = `https://127.0.0.1:${nginx.httpsPort}`;
  const client = new Client(base);
  const alice = await Drive.register(client, 'alice');

  t.test('/health, and plain HTTP redirected to HTTPS', async (t) => {
    const health = await client.call('GET', '/health');
    t.equal(health.status, 200);
    t.same(health.body, { status: 'ok' });
    const plain = await request(`http://127.0.0.1:${nginx.httpPort}/health`);
    await plain.body.dump();
    t.equal(plain.statusCode, 301);
    t.match(plain.headers.location, /^https:\/\/127\.0\.0\.1\/health$/);
  });

  const raw = randomContent(BIG);
  t.test('a 64 MiB raw upload streams through: nginx buffers nothing on its disk', async (t) => {
    let isAtGate = false;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* chunks() {
      for (let offset = 0; offset < raw.length; offset += MiB) {
        if (offset === 16 * MiB) {
          isAtGate = true;
          await gate;
        }
        yield raw.subarray(offset, offset + MiB);
      }
    }
    // Chunked (no Content-Length), as a pipe would send it.
    const uploading = alice.upload('big-raw.bin', Readable.from(chunks()), { reprDigest: reprDigestOf(raw) });
    t.ok(await eventually(async () => isAtGate, 30_000), 'the first 16 MiB went out');
    await sleep(500);
    t.same(await temporaryFilesHeld(nginx), [], 'while the client pauses, nginx holds no temporary file of the body');
    release();
    const reply = await uploading;
    t.equal(reply.status, 201);
    t.match(reply.body, { filename: 'big-raw.bin', sha256: sha256Hex(raw), size: BIG });
  });

  t.test('a 64 MiB multipart upload with its digest', async (t) => {
    const content = randomContent(BIG);
    const reply = await alice.uploadForm('big-form.bin', content, { sha256: sha256Hex(content) });
    t.equal(reply.status, 201);
    t.match(reply.body, { sha256: sha256Hex(content), size: BIG });
  });

  t.test('a download streams through, whole and by range; HEAD and 304', async (t) => {
    const response = await request(`${base}/cloud/my-drive/?filename=big-raw.bin`, { headers: { authorization: `Bearer ${alice.token}` } });
    t.equal(response.statusCode, 200);
    t.equal(response.headers['content-length'], String(BIG));
    const hash = createHash('sha256');
    let isPaused = false;
    for await (const chunk of response.body) {
      hash.update(chunk as Buffer);
      if (!isPaused) {
        isPaused = true;
        await sleep(1000);
        t.same(await temporaryFilesHeld(nginx), [], 'while the client reads nothing, nginx keeps no copy on its disk');
      }
    }
    t.equal(hash.digest('hex'), sha256Hex(raw), 'the whole file, unchanged');

    const part = await alice.download('big-raw.bin', { range: 'bytes=1000-2000999' });
    t.equal(part.status, 206);
    t.equal(part.headers['content-range'], `bytes 1000-2000999/${BIG}`);
    t.ok(part.raw.equals(raw.subarray(1000, 2001000)), 'the range, byte for byte');

    const head = await client.call('HEAD', `/cloud/my-drive/?filename=big-raw.bin`, { token: alice.token });
    t.equal(head.status, 200);
    t.equal(head.headers['content-length'], String(BIG));
    t.equal(head.headers.etag, `"${sha256Hex(raw)}"`);
    t.equal(head.raw.length, 0, 'HEAD: no body');
    const unchanged = await alice.download('big-raw.bin', { 'if-none-match': `"${sha256Hex(raw)}"` });
    t.equal(unchanged.status, 304);
    t.equal(unchanged.raw.length, 0);
  });

  t.test('an over-size body is 413 in the API error shape, from nginx and from the server', async (t) => {
    const shape = { statusCode: 413, code: 'PAYLOAD_TOO_LARGE', error: 'Payload Too Large', message: String };
    const beyondNginx = await declaredBodyAnswer(nginx, alice.token, 6 * 1024 ** 3);
    t.equal(beyondNginx.status, 413, 'beyond client_max_body_size: nginx answers');
    t.match(beyondNginx.type, /^application\/json/);
    t.match(beyondNginx.body, shape);
    const beyondServer = await declaredBodyAnswer(nginx, alice.token, 5 * 1024 ** 3 + 1);
    t.equal(beyondServer.status, 413, 'beyond MAX_UPLOAD_BYTES, within nginx: the server answers, through nginx');
    t.match(beyondServer.type, /^application\/json/);
    t.match(beyondServer.body, shape);
    t.not(JSON.stringify(beyondServer.body), JSON.stringify(beyondNginx.body), 'two different answers, both in the shape');
  });

  t.test('login limits count the address nginx saw, whatever X-Forwarded-For a client sends', async (t) => {
    const loginFrom = async (agentFor: Agent, username: string, headers: Record<string, string> = {}) => {
      const response = await request(`${base}/login`, {
        method: 'POST',
        dispatcher: agentFor,
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ username, password: 'not the password' }),
      });
      const body = (await response.body.json()) as { code: string };
      return { status: response.statusCode, code: body.code, retryAfter: response.headers['retry-after'] };
    };
    const guesser = agentFrom('127.0.0.2');
    const bystander = agentFrom('127.0.0.3');
    t.teardown(async () => {
      await guesser.close();
      await bystander.close();
    });
    // 100 failures from one address, 10 per username (each username's own limit), spread over both instances.
    for (let round = 0; round < 10; round++) {
      const replies = await Promise.all(Array.from({ length: 10 }, (_, user) => loginFrom(guesser, `guess${user}`)));
      t.same(new Set(replies.map((reply) => reply.status)), new Set([401]), `round ${round + 1}: 401 each`);
    }
    const limited = await loginFrom(guesser, 'somebody');
    t.equal(limited.status, 429, 'the 101st failure from 127.0.0.2 is refused');
    t.equal(limited.code, 'RATE_LIMITED');
    t.match(limited.retryAfter, /^\d+$/);
    const spoofed = await loginFrom(guesser, 'somebody', { 'x-forwarded-for': '203.0.113.9' });
    t.equal(spoofed.status, 429, 'an X-Forwarded-For the client made up changes nothing');
    const other = await loginFrom(bystander, 'somebody');
    t.equal(other.status, 401, 'another client address is not limited');
  });

  t.test("the cross-site check sees the browser's own host and port through nginx", async (t) => {
    const login = await client.login('alice');
    const cookie = String(login.headers['set-cookie']).split(';')[0];
    const foreign = await client.call('POST', '/logout', { headers: { cookie, origin: 'https://evil.example' } });
    t.equal(foreign.status, 403);
    t.equal(foreign.body.code, 'CROSS_SITE_REQUEST');
    const own = await client.call('POST', '/logout', { headers: { cookie, origin: base } });
    t.equal(own.status, 204, 'the same origin, port included, is not cross-site');
  });

  t.test('both instances served requests', async (t) => {
    const log = await readFile(nginx.accessLog, 'utf8');
    for (const port of ports) {
      const served = log.split('\n').filter((line) => line.includes(`upstream=127.0.0.1:${port} `)).length;
      t.ok(served > 10, `127.0.0.1:${port} answered ${served} requests`);
    }
    // What the 64 MiB uploads cost through nginx, for the record (a shared machine: not asserted).
    for (const line of log.split('\n').filter((entry) => /"POST \/cloud\/my-drive\/.* 201 /.test(entry))) {
      t.comment(line.replace(/^.*"(POST [^"]*)".*time=([\d.]+).*$/, '$1: $2 s'));
    }
  });

  t.test('no instance answering: 503 in the API error shape', async (t) => {
    for (const instance of instances) await instance.app.close();
    const reply = await client.call('GET', '/health');
    t.equal(reply.status, 503);
    t.match(reply.body, { statusCode: 503, code: 'SERVICE_UNAVAILABLE', error: 'Service Unavailable', status: 'unavailable' });
    t.match(reply.headers['retry-after'], /^\d+$/);
  });
});
