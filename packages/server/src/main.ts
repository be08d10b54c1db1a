import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

async function main(): Promise<void> {
  const config = loadConfig();
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
  await app.listen({ port: config.port, host: config.listenHost });
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`cloudstore: ${error.message}\n`);
  } else {
    const { code, message } = error as { code?: string; message?: string };
    process.stderr.write(`cloudstore: cannot start: ${message ?? String(error)}${code ? ` (${code})` : ''}\n`);
  }
  process.exit(1);
});
