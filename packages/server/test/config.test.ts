import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { loadConfig } from '../src/config.js';

const mainScript = fileURLToPath(new URL('../src/main.js', import.meta.url));

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cloudstore-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('no settings: the embedded defaults, and a secret generated once with mode 0600', async (t) => {
  const dir = await tempDir(t);
  const config = loadConfig({}, dir);
  t.match(config, { port: 3000, listenHost: '127.0.0.1', databaseUrl: null, dataDir: path.join(dir, 'data') });
  t.match(config, { maxUploadBytes: 5368709120, tokenTtlSeconds: 604800, dedupThresholdMax: 20, cookieSecure: false });
  t.match(config, { logLevel: 'info', trustProxy: false, registration: 'open', registerLimit: 10 });
  t.equal(config.hashConcurrency, availableParallelism(), 'HASH_CONCURRENCY: the number of cores');
  const secretFile = path.join(dir, 'data', 'secret');
  t.equal((await stat(secretFile)).mode & 0o777, 0o600);
  t.ok((config.jwtSecret ?? '').length >= 32);
  t.equal(loadConfig({}, dir).jwtSecret, config.jwtSecret, 'kept across restarts');
  t.equal((await readFile(secretFile, 'utf8')).trim(), config.jwtSecret);
});

t.test('MySQL without JWT_SECRET: no key file is made, the key comes from the database', async (t) => {
  const dir = await tempDir(t);
  const config = loadConfig({ DATABASE_URL: 'mysql://a@b:1/c' }, dir);
  t.equal(config.jwtSecret, null, 'left to the database (app.ts), where every instance finds the same');
  await t.rejects(stat(path.join(dir, 'data', 'secret')), { code: 'ENOENT' });
});

t.test('.env with the original keys, read from the file only', async (t) => {
  const dir = await tempDir(t);
  await writeFile(
    path.join(dir, '.env'),
    "HOST = 'db.example:3307'\nUSER = 'cloud'\nPASSWORD = 'p@ss word'\nDATABASE = 'store'\nSECRET = \"" + 's'.repeat(40) + '"\nPORT=4000\n',
  );
  const config = loadConfig({ USER: 'root', HOST: 'my-laptop', PORT: '5000' }, dir);
  t.equal(config.databaseUrl, 'mysql://cloud:p%40ss%20word@db.example:3307/store');
  t.equal(config.jwtSecret, 's'.repeat(40));
  t.equal(config.port, 5000, 'the environment wins over the file');
  const overridden = loadConfig({ DATABASE_URL: 'mysql://a@b:1/c', JWT_SECRET: 'j'.repeat(32) }, dir);
  t.equal(overridden.databaseUrl, 'mysql://a@b:1/c', 'DATABASE_URL takes precedence');
  t.equal(overridden.jwtSecret, 'j'.repeat(32), 'JWT_SECRET takes precedence');
  const fromEnvOnly = loadConfig({ HOST: 'h:1', DATABASE: 'd', USER: 'u' }, await tempDir(t));
  t.equal(fromEnvOnly.databaseUrl, null, 'the original keys are not read from the environment');
});

t.test('bad values are refused, each named', async (t) => {
  const dir = await tempDir(t);
  const cases: Record<string, string>[] = [
    { PORT: 'eighty' },
    { PORT: '70000' },
    { DATABASE_URL: 'postgres://x@y/z' },
    { DATABASE_URL: 'not a url' },
    { JWT_SECRET: 'short' },
    { MAX_UPLOAD_BYTES: '-1' },
    { TOKEN_TTL_SECONDS: '1.5' },
    { DEDUP_THRESHOLD_MAX: '0' },
    { DEDUP_THRESHOLD_MAX: '1001' },
    { COOKIE_SECURE: 'maybe' },
    { LOG_LEVEL: 'loud' },
    { TRUST_PROXY: 'perhaps' },
    { TRUST_PROXY: '10.0.0.1, nginx.local' },
    { TRUST_PROXY: '10.0.0.0/33' },
    { TRUST_PROXY: 'true' },
    { REGISTRATION: 'invite-only' },
    { REGISTER_LIMIT: '-1' },
    { HASH_CONCURRENCY: '0' },
  ];
  for (const env of cases) {
    const [key] = Object.keys(env);
    t.throws(() => loadConfig(env, dir), { name: 'ConfigError' }, `${key}=${env[key]}`);
    try {
      loadConfig(env, dir);
    } catch (error) {
      t.match((error as Error).message, key);
    }
  }
  t.equal(loadConfig({ TRUST_PROXY: 'false' }, dir).trustProxy, false);
  t.equal(loadConfig({ TRUST_PROXY: '1' }, dir).trustProxy, 1, 'a hop count');
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.1, 192.168.0.0/16,::1,loopback' }, dir).trustProxy, [
    '10.0.0.1',
    '192.168.0.0/16',
    '::1',
    'loopback',
  ]);
  t.match(loadConfig({ REGISTRATION: 'closed', REGISTER_LIMIT: '0', HASH_CONCURRENCY: '3' }, dir), {
    registration: 'closed',
    registerLimit: 0,
    hashConcurrency: 3,
  });
  t.equal(loadConfig({ DEDUP_THRESHOLD_MAX: '1' }, dir).dedupThresholdMax, 1);
  t.equal(loadConfig({ DEDUP_THRESHOLD_MAX: '1000' }, dir).dedupThresholdMax, 1000);
});

t.test('the server refuses to start on a bad value, with one clear line', async (t) => {
  const dir = await tempDir(t);
  const child = spawn(process.execPath, [mainScript], {
    cwd: dir,
    env: { PATH: process.env.PATH, DEDUP_THRESHOLD_MAX: '5000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [code] = await once(child, 'exit');
  t.equal(code, 1);
  t.match(stderr, /^cloudstore: invalid configuration: DEDUP_THRESHOLD_MAX must be a whole number from 1 to 1000/);
  t.equal(stderr.trim().split('\n').length, 1);
});

t.test('TRUST_PROXY=true: the server refuses to start, saying why in one line', async (t) => {
  const child = spawn(process.execPath, [mainScript], {
    cwd: await tempDir(t),
    env: { PATH: process.env.PATH, TRUST_PROXY: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [code] = await once(child, 'exit');
  t.equal(code, 1);
  t.match(stderr, /^cloudstore: invalid configuration: TRUST_PROXY=true is refused: it would let any client choose its address/);
  t.equal(stderr.trim().split('\n').length, 1);
});

t.test('the server starts on the embedded default, answers /health, and stops on SIGTERM', async (t) => {
  const dir = await tempDir(t);
  const child = spawn(process.execPath, [mainScript], {
    cwd: dir,
    env: { PATH: process.env.PATH, PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  const listening = new Promise<string>((resolve) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (match) resolve(match[1]);
    });
  });
  const url = await listening;
  const health = await fetch(`${url}/health`);
  t.equal(health.status, 200);
  t.ok((await stat(path.join(dir, 'data', 'cloudstore.db'))).isFile(), 'the database is at $DATA_DIR/cloudstore.db');
  child.kill('SIGTERM');
  const [code] = await once(child, 'exit');
  t.equal(code, 0, 'a clean exit');
});

t.test('request deadlines and uploads per user: API.md defaults, shortened for tests, bad values refused', async (t) => {
  const dir = await tempDir(t);
  t.match(loadConfig({}, dir), { headersTimeoutMs: 30_000, requestTimeoutMs: 30_000, bodyIdleTimeoutMs: 60_000, uploadsPerUser: 64 });
  const short = loadConfig(
    { HEADERS_TIMEOUT_MS: '1500', REQUEST_TIMEOUT_MS: '2000', BODY_IDLE_TIMEOUT_MS: '1000', UPLOADS_PER_USER: '2' },
    dir,
  );
  t.match(short, { headersTimeoutMs: 1500, requestTimeoutMs: 2000, bodyIdleTimeoutMs: 1000, uploadsPerUser: 2 });
  for (const env of [{ UPLOADS_PER_USER: '0' }, { BODY_IDLE_TIMEOUT_MS: 'soon' }, { HEADERS_TIMEOUT_MS: '40000' }]) {
    t.throws(() => loadConfig(env, dir), { name: 'ConfigError', message: new RegExp(Object.keys(env)[0]) }, JSON.stringify(env));
  }
});

t.test('QUOTA_BYTES (unset: unlimited) and AUDIT_RETENTION_DAYS (default 365), bad values refused', async (t) => {
  const dir = await tempDir(t);
  t.match(loadConfig({}, dir), { quotaBytes: null, auditRetentionDays: 365 });
  t.match(loadConfig({ QUOTA_BYTES: '1048576', AUDIT_RETENTION_DAYS: '30' }, dir), { quotaBytes: 1048576, auditRetentionDays: 30 });
  t.match(loadConfig({ QUOTA_BYTES: ' ' }, dir), { quotaBytes: null }, 'blank is unset');
  for (const env of [{ QUOTA_BYTES: '0' }, { QUOTA_BYTES: '10GB' }, { AUDIT_RETENTION_DAYS: '0' }, { AUDIT_RETENTION_DAYS: 'forever' }]) {
    t.throws(() => loadConfig(env, dir), { name: 'ConfigError', message: new RegExp(Object.keys(env)[0]) }, JSON.stringify(env));
  }
});

t.test('scrub and verify settings: defaults, values, and refusals', async (t) => {
  const dir = await tempDir(t);
  t.match(loadConfig({}, dir), { scrubBytesPerSecond: 50 * 1024 * 1024, scrubIntervalMs: 30 * 24 * 3600 * 1000, verifyLimit: 30 });
  t.match(loadConfig({ SCRUB_BYTES_PER_SECOND: '0', SCRUB_INTERVAL_DAYS: '7', VERIFY_LIMIT: '0' }, dir), {
    scrubBytesPerSecond: 0,
    scrubIntervalMs: 7 * 24 * 3600 * 1000,
    verifyLimit: 0,
  });
  for (const env of [
    { SCRUB_BYTES_PER_SECOND: '-1' },
    { SCRUB_INTERVAL_DAYS: '0' },
    { SCRUB_INTERVAL_DAYS: '1.5' },
    { VERIFY_LIMIT: 'many' },
  ]) {
    t.throws(() => loadConfig(env, dir), { name: 'ConfigError', message: new RegExp(Object.keys(env)[0]) }, JSON.stringify(env));
  }
});
