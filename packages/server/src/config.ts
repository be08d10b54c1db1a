import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';

/** The server's settings (API.md, "Configuration"). This is the only module that reads the environment. */
export interface Config {
  port: number;
  listenHost: string;
  /** `mysql://…` or null for the embedded SQLite database at `$DATA_DIR/cloudstore.db`. */
  databaseUrl: string | null;
  dataDir: string;
  /**
   * The token signing key (JWT_SECRET). Null: generated once and kept in the database
   * (MySQL/MariaDB, so that instances agree; app.ts). On SQLite it is never null: loadConfig
   * keeps it in `$DATA_DIR/secret`.
   */
  jwtSecret: string | null;
  maxUploadBytes: number;
  tokenTtlSeconds: number;
  /** Read at each disclosure decision, so tests and operators may change it on a running app. */
  dedupThresholdMax: number;
  cookieSecure: boolean;
  logLevel: string;
  /** Fastify's trustProxy: false, a hop count, or the proxies' addresses/CIDRs. Never `true`. */
  trustProxy: false | number | string[];
  registration: 'open' | 'closed';
  /** New accounts per client address per sliding hour; 0 = no limit. */
  registerLimit: number;
  /** Password hashes computed at once, each on a worker thread of its own. */
  hashConcurrency: number;
  /** Argon2id cost of new password hashes. Not read from the environment: tests lower it to save time. */
  passwordHashCost: PasswordHashCost;
  /** Request headers must arrive whole within this (API.md, "Limits, timeouts and housekeeping"). */
  headersTimeoutMs: number;
  /** A request that is not an upload must arrive whole within this. */
  requestTimeoutMs: number;
  /** An upload's body that sends no byte for this long, while the server waits for one, is cut off. */
  bodyIdleTimeoutMs: number;
  /** Uploads of one user in flight at once. */
  uploadsPerUser: number;
  /**
   * On MySQL/MariaDB, how long an upload slot stays taken once its instance stops renewing it
   * (the instance died); renewed every third of it.
   */
  uploadSlotLeaseMs: number;
  /** Human-readable log lines (pino-pretty) when standard output is a terminal; JSON otherwise. */
  prettyLogs: boolean;
  /**
   * A resumable upload that receives nothing for this long expires (API.md: 24 h), and expired
   * ones are swept this often (within the hour). Not read from the environment: tests shorten them.
   */
  resumableExpiryMs?: number;
  resumableSweepIntervalMs?: number;
  /** The background scrub's read rate (SCRUB_BYTES_PER_SECOND); 0: no scrub. */
  scrubBytesPerSecond: number;
  /** Each content is scrubbed again this long after its last scrub (SCRUB_INTERVAL_DAYS). */
  scrubIntervalMs: number;
  /** How often an idle scrub looks for due content. Not read from the environment: tests shorten it. */
  scrubIdlePollMs?: number;
  /** Re-hashes (POST /cloud/my-drive/verify) per user per minute (VERIFY_LIMIT); 0 = no limit. */
  verifyLimit: number;
  /** Where content lives (BLOB_STORE); absent means the file store. */
  blobStore?: BlobStoreConfig;
  /** QUOTA_BYTES: the most bytes of files one user may own; null or absent: no limit. */
  quotaBytes?: number | null;
  /** AUDIT_RETENTION_DAYS: audit events older than this are removed; absent: DEFAULT_AUDIT_RETENTION_DAYS. */
  auditRetentionDays?: number;
}

export const DEFAULT_AUDIT_RETENTION_DAYS = 365;

export interface PasswordHashCost {
  memoryKiB: number;
  passes: number;
}

/** OWASP's recommended Argon2id cost (19 MiB, 2 passes, 1 lane): about 75 ms of one core. */
export const PASSWORD_HASH_COST: PasswordHashCost = { memoryKiB: 19456, passes: 2 };

/** BLOB_STORE: `file`, or `s3://BUCKET[/PREFIX]` with the AWS SDK's own variables. */
export type BlobStoreConfig =
  | { kind: 'file' }
  | {
      kind: 's3';
      bucket: string;
      /** '' or ending in '/'. */
      prefix: string;
      region: string;
      /** AWS_ENDPOINT_URL_S3, for a store other than AWS. */
      endpoint: string | null;
      forcePathStyle: boolean;
      /** S3_PART_BUFFERS: part buffers (8 MiB each) shared by every upload in flight; absent: the store's default. */
      partBuffers?: number;
      /** Null: the SDK's default chain (instance role, ~/.aws) finds them. */
      credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | null;
    };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

const DAY_MS = 24 * 3600 * 1000;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const MIN_SECRET_BYTES = 32;

type Source = Record<string, string | undefined>;

/**
 * Reads settings from `env`, else from `.env` in `cwd`. The original design's keys
 * (HOST, USER, PASSWORD, DATABASE, SECRET) are read from the file only: in a process
 * environment USER and HOST mean other things.
 */
export function loadConfig(env: Source = process.env, cwd = process.cwd(), stdoutIsTerminal = process.stdout.isTTY === true): Config {
  const file = readDotenv(cwd);
  const get = (key: string): string | undefined => {
    const value = env[key] ?? file[key];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const problems: string[] = [];

  const integer = (key: string, fallback: number, min: number, max: number): number => {
    const raw = get(key);
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${key} must be a whole number from ${min} to ${max}, got '${raw}'`);
      return fallback;
    }
    return Number(raw);
  };
  const boolean = (key: string): boolean => {
    const raw = get(key)?.toLowerCase();
    if (raw === undefined) return false;
    if (['true', '1', 'yes'].includes(raw)) return true;
    if (['false', '0', 'no'].includes(raw)) return false;
    problems.push(`${key} must be true or false, got '${raw}'`);
    return false;
  };

  const dataDir = path.resolve(cwd, get('DATA_DIR') ?? './data');
  const databaseUrl = get('DATABASE_URL') ?? legacyDatabaseUrl(file);
  if (databaseUrl !== null) {
    let url: URL | null = null;
    try {
      url = new URL(databaseUrl);
    } catch {
      problems.push('DATABASE_URL is not a URL (expected mysql://user:pass@host:port/db)');
    }
    if (url && !['mysql:', 'mariadb:'].includes(url.protocol)) {
      problems.push(`DATABASE_URL must start with mysql://, got '${url.protocol}//'`);
    } else if (url && url.pathname.replace(/^\//, '') === '') {
      problems.push('DATABASE_URL must name a database (mysql://user:pass@host:port/db)');
    }
  }
  const secret = get('JWT_SECRET') ?? file.SECRET?.trim();
  if (secret !== undefined && secret !== '' && Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
    problems.push(`JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes, got ${Buffer.byteLength(secret)}`);
  }
  const logLevel = get('LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);
  const listenHost = get('LISTEN_HOST') ?? '127.0.0.1';

  const config: Config = {
    port: integer('PORT', 3000, 0, 65535),
    listenHost,
    databaseUrl,
    dataDir,
    jwtSecret: secret === undefined || secret === '' ? null : secret,
    maxUploadBytes: integer('MAX_UPLOAD_BYTES', 5 * 1024 ** 3, 1, Number.MAX_SAFE_INTEGER),
    tokenTtlSeconds: integer('TOKEN_TTL_SECONDS', 7 * 24 * 3600, 1, 10 * 365 * 24 * 3600),
    dedupThresholdMax: integer('DEDUP_THRESHOLD_MAX', 20, 1, 1000),
    cookieSecure: boolean('COOKIE_SECURE'),
    logLevel,
    trustProxy: trustProxy(get('TRUST_PROXY'), problems),
    registration: registration(get('REGISTRATION'), problems),
    registerLimit: integer('REGISTER_LIMIT', 10, 0, 1_000_000),
    hashConcurrency: integer('HASH_CONCURRENCY', availableParallelism(), 1, 256),
    passwordHashCost: PASSWORD_HASH_COST,
    headersTimeoutMs: integer('HEADERS_TIMEOUT_MS', 30_000, 100, 3_600_000),
    requestTimeoutMs: integer('REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000),
    bodyIdleTimeoutMs: integer('BODY_IDLE_TIMEOUT_MS', 60_000, 100, 3_600_000),
    uploadsPerUser: integer('UPLOADS_PER_USER', 64, 1, 100_000),
    uploadSlotLeaseMs: integer('UPLOAD_SLOT_LEASE_MS', 30_000, 300, 3_600_000),
    prettyLogs: stdoutIsTerminal,
    blobStore: blobStoreConfig(get, boolean, integer, problems),
    quotaBytes: get('QUOTA_BYTES') === undefined ? null : integer('QUOTA_BYTES', 0, 1, Number.MAX_SAFE_INTEGER),
    auditRetentionDays: integer('AUDIT_RETENTION_DAYS', DEFAULT_AUDIT_RETENTION_DAYS, 1, 100 * 365),
    scrubBytesPerSecond: integer('SCRUB_BYTES_PER_SECOND', 50 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
    scrubIntervalMs: integer('SCRUB_INTERVAL_DAYS', 30, 1, 3650) * DAY_MS,
    verifyLimit: integer('VERIFY_LIMIT', 30, 0, 1_000_000),
  };
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    problems.push(
      `HEADERS_TIMEOUT_MS (${config.headersTimeoutMs}) must not exceed REQUEST_TIMEOUT_MS (${config.requestTimeoutMs}): headers are part of the request`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  // One instance on SQLite: the key lives beside the database, as it always has.
  if (config.jwtSecret === null && databaseUrl === null) config.jwtSecret = generatedSecret(dataDir);
  return config;
}

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** `false`, a hop count, or a comma-separated list of addresses, CIDRs or proxy-addr's names. */
function trustProxy(raw: string | undefined, problems: string[]): Config['trustProxy'] {
  const value = raw?.toLowerCase();
  if (value === undefined || value === 'false' || value === '0') return false;
  if (value === 'true') {
    problems.push(
      "TRUST_PROXY=true is refused: it would let any client choose its address through X-Forwarded-For; give a hop count (1 behind one proxy) or the proxies' addresses",
    );
    return false;
  }
  if (/^\d+$/.test(value)) return Number(value);
  const entries = value.split(',').map((entry) => entry.trim());
  const invalid = entries.filter((entry) => !isProxyAddress(entry));
  if (invalid.length > 0) {
    problems.push(`TRUST_PROXY must be false, a hop count, or addresses/CIDRs separated by commas; not '${invalid.join(', ')}'`);
    return false;
  }
  return entries;
}

function isProxyAddress(entry: string): boolean {
  if (PROXY_NAMES.includes(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

function registration(raw: string | undefined, problems: string[]): Config['registration'] {
  const value = raw?.toLowerCase() ?? 'open';
  if (value === 'open' || value === 'closed') return value;
  problems.push(`REGISTRATION must be open or closed, got '${raw}'`);
  return 'open';
}

/** S3_PART_BUFFERS' default: 64 MiB of 8 MiB parts beside the 32 MiB of upload slabs (API.md's 160 MiB bound). */
const S3_PART_BUFFERS_DEFAULT = 8;

/** AWS's rule for bucket names (3–63 lower-case letters, digits, dots, hyphens). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function blobStoreConfig(
  get: (key: string) => string | undefined,
  boolean: (key: string) => boolean,
  integer: (key: string, fallback: number, min: number, max: number) => number,
  problems: string[],
): BlobStoreConfig {
  const raw = get('BLOB_STORE') ?? 'file';
  if (raw === 'file') return { kind: 'file' };
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(raw);
  if (!match) {
    problems.push(`BLOB_STORE must be file or s3://BUCKET[/PREFIX], got '${raw}'`);
    return { kind: 'file' };
  }
  const [, bucket, rawPrefix = ''] = match;
  if (!BUCKET_NAME.test(bucket))
    problems.push(`BLOB_STORE names an invalid bucket '${bucket}' (3 to 63 lower-case letters, digits, dots, hyphens)`);
  const prefix = rawPrefix.replace(/^\/+|\/+$/g, '');
  if (prefix !== '' && prefix.split('/').some((segment) => ['', '.', '..'].includes(segment))) {
    problems.push(`BLOB_STORE has an invalid prefix '${rawPrefix}'`);
  }
  const endpoint = get('AWS_ENDPOINT_URL_S3') ?? null;
  if (endpoint !== null && !/^https?:\/\/[^/\s]+/.test(endpoint))
    problems.push(`AWS_ENDPOINT_URL_S3 must be an http:// or https:// URL, got '${endpoint}'`);
  const accessKeyId = get('AWS_ACCESS_KEY_ID');
  const secretAccessKey = get('AWS_SECRET_ACCESS_KEY');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    problems.push('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together');
  }
  const sessionToken = get('AWS_SESSION_TOKEN');
  return {
    kind: 's3',
    bucket,
    prefix: prefix === '' ? '' : `${prefix}/`,
    // Stores other than AWS ignore the region, but the SDK signs with one.
    region: get('AWS_REGION') ?? get('AWS_DEFAULT_REGION') ?? 'us-east-1',
    endpoint,
    forcePathStyle: boolean('S3_FORCE_PATH_STYLE'),
    // Two keep one upload at full speed (one part filling while the other is sent).
    partBuffers: integer('S3_PART_BUFFERS', S3_PART_BUFFERS_DEFAULT, 1, 1024),
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } : null,
  };
}

function readDotenv(cwd: string): Source {
  try {
    return parseDotenv(readFileSync(path.join(cwd, '.env')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError([`cannot read .env: ${(error as Error).message}`]);
  }
}

/** The original design's `.env`: HOST='host:port', USER, PASSWORD, DATABASE. */
function legacyDatabaseUrl(file: Source): string | null {
  const host = file.HOST?.trim();
  const database = file.DATABASE?.trim();
  if (!host || !database) return null;
  const user = encodeURIComponent(file.USER?.trim() ?? 'root');
  const password = file.PASSWORD ? `:${encodeURIComponent(file.PASSWORD)}` : '';
  return `mysql://${user}${password}@${host}/${encodeURIComponent(database)}`;
}

/** A signing key generated once and kept in `$DATA_DIR/secret` (mode 0600). */
function generatedSecret(dataDir: string): string {
  const file = path.join(dataDir, 'secret');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(48).toString('base64url');
  try {
    writeFileSync(file, secret + '\n', { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(file, 'utf8').trim();
    throw error;
  }
}
