import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { tuneMemoryForTransfers } from './memory-tuning.js';
import { serverHelp } from './server-help.js';
import { VERSION } from './version.js';

/** Start-up failures are one line; LOG_LEVEL=debug or trace adds the stack. */
let verboseErrors = false;

async function main(): Promise<void> {
  const [argument, ...rest] = process.argv.slice(2);
  if (argument === '--help' || argument === '-h') {
    process.stdout.write(serverHelp(VERSION));
    return;
  }
  if (argument === '--version' || argument === '-V') {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  if (argument !== undefined || rest.length > 0) {
    process.stderr.write(`cloudstore-server: unknown argument '${argument}' (settings come from the environment; see --help)\n`);
    process.exitCode = 2;
    return;
  }

  tuneMemoryForTransfers();
  const config = loadConfig();
  verboseErrors = config.logLevel === 'debug' || config.logLevel === 'trace';
  const app = await buildApp(config);
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing requests in flight');
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  const address = await app.listen({ port: config.port, host: config.listenHost });
  const database = config.databaseUrl ? `MySQL at ${redactedUrl(config.databaseUrl)}` : `SQLite at ${config.dataDir}/cloudstore.db`;
  const blobStore = config.blobStore;
  const store = blobStore?.kind === 's3' ? `s3://${blobStore.bucket}/${blobStore.prefix}` : `file at ${config.dataDir}/blobs`;
  app.log.info(
    { address, version: VERSION, dataDir: config.dataDir, database, store },
    `CloudStore ${VERSION} serving ${address} (data in ${config.dataDir}, database ${database}, content in ${store})`,
  );
}

/** The database URL without its password, for the start line. */
function redactedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** What to do about the start-up failures a newcomer meets, by driver error code. */
const START_HINTS: Record<string, string> = {
  ER_BAD_DB_ERROR: 'create the database first (CREATE DATABASE name CHARACTER SET utf8mb4), or fix DATABASE_URL',
  ER_ACCESS_DENIED_ERROR: 'check the user and password in DATABASE_URL',
  ECONNREFUSED: 'is the database server running, and at the host and port DATABASE_URL names?',
  EADDRINUSE: 'another process listens on that port: stop it or set PORT',
  EACCES: 'no permission: check DATA_DIR, or use a PORT above 1023',
};

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`cloudstore: ${error.message}\n`);
  } else {
    const { code, message, stack } = error as { code?: string; message?: string; stack?: string };
    const hint = code ? START_HINTS[code] : undefined;
    process.stderr.write(`cloudstore: cannot start: ${message ?? String(error)}${code ? ` (${code})` : ''}${hint ? `: ${hint}` : ''}\n`);
    if (verboseErrors) process.stderr.write(`${stack}\n`);
  }
  process.exit(1);
});
