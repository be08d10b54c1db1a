/** What `node main.js --help` prints: the settings of API.md's "Configuration", one line each. */
const SETTINGS: ReadonlyArray<readonly [name: string, fallback: string, meaning: string]> = [
  ['PORT', '3000', 'port to listen on'],
  ['LISTEN_HOST', '127.0.0.1', 'address to listen on (0.0.0.0 to serve a network)'],
  ['DATABASE_URL', 'embedded SQLite', 'mysql://user:pass@host:port/db for MySQL/MariaDB'],
  ['DATA_DIR', './data', 'content store, temporary uploads, embedded database'],
  ['JWT_SECRET', 'generated once', 'token signing key, at least 32 bytes'],
  ['MAX_UPLOAD_BYTES', '5368709120', 'largest upload'],
  ['TOKEN_TTL_SECONDS', '604800', 'lifetime of a login token'],
  ['DEDUP_THRESHOLD_MAX', '20', 'existence privacy: strangers may claim content once 2..N owners hold it'],
  ['COOKIE_SECURE', 'false', 'add Secure to the cookie (behind HTTPS)'],
  ['LOG_LEVEL', 'info', 'fatal, error, warn, info, debug, trace or silent'],
  ['TRUST_PROXY', 'false', 'X-Forwarded-For hops to trust: false, a hop count, or proxy addresses/CIDRs'],
  ['REGISTRATION', 'open', 'closed: POST /register is refused; accounts come from pnpm user add NAME'],
  ['REGISTER_LIMIT', '10', 'new accounts per client address per hour (0 = no limit)'],
  ['HASH_CONCURRENCY', 'cores', 'password hashes computed at once (on worker threads of their own)'],
  ['UPLOADS_PER_USER', '64', 'uploads of one user in flight at once'],
  ['UPLOAD_SLOT_LEASE_MS', '30000', "MySQL: how long a dead instance's upload slots stay taken"],
  ['HEADERS_TIMEOUT_MS', '30000', 'request headers must arrive within this'],
  ['REQUEST_TIMEOUT_MS', '30000', 'a request that is not an upload must arrive whole within this'],
  ['BODY_IDLE_TIMEOUT_MS', '60000', 'an upload body that sends nothing for this long is cut off'],
  ['S3_PART_BUFFERS', '8', 'with BLOB_STORE=s3://…: part buffers (8 MiB) shared by every upload in flight'],
  ['QUOTA_BYTES', 'unlimited', 'the most bytes of files one user may own (507 beyond)'],
  ['AUDIT_RETENTION_DAYS', '365', 'audit events older than this many days are removed'],
  ['SCRUB_BYTES_PER_SECOND', '52428800', 'background scrub: stored bytes re-read and re-hashed per second (0 = off)'],
  ['SCRUB_INTERVAL_DAYS', '30', 'background scrub: each content is read back once per this many days'],
  ['VERIFY_LIMIT', '30', 're-hashes (POST /cloud/my-drive/verify) per user per minute (0 = no limit)'],
];

export function serverHelp(version: string): string {
  const width = Math.max(...SETTINGS.map(([name]) => name.length));
  const fallbackWidth = Math.max(...SETTINGS.map(([, fallback]) => fallback.length));
  const lines = SETTINGS.map(([name, fallback, meaning]) => `  ${name.padEnd(width)}  ${fallback.padEnd(fallbackWidth)}  ${meaning}`);
  return [
    `CloudStore server ${version}: self-hosted, content-addressed file sharing.`,
    '',
    'Usage: pnpm start   (or: node packages/server/dist/src/main.js [--help | --version])',
    '',
    'Settings come from the environment, or from a .env file in the working directory',
    '(the environment wins). With none, the server starts on its embedded defaults.',
    '',
    `  ${'variable'.padEnd(width)}  ${'default'.padEnd(fallbackWidth)}  meaning`,
    ...lines,
    '',
    'Documentation: docs/API.md (HTTP), docs/CLI.md (the cloudstore command), /docs on a running server.',
    '',
  ].join('\n');
}
