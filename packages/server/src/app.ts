import type { Knex } from 'knex';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { BlobStoreConfig, Config } from './config.js';
import { openDatabase } from './db/open.js';
import { BlobObjectRepository } from './repositories/blob-objects.js';
import type { BlobStore } from './store/blob-store.js';
import { FsBlobStore } from './store/fs-store.js';
import { createS3Client } from './store/s3-client.js';
import { S3BlobStore } from './store/s3-store.js';
import { authPlugin } from './plugins/auth.js';
import { errorHandlerPlugin } from './plugins/error-handler.js';
import { multipartPlugin } from './plugins/multipart.js';
import { openapiPlugin } from './plugins/openapi.js';
import { LoginFailureRepository } from './repositories/login-failures.js';
import { SessionRepository } from './repositories/sessions.js';
import { UserRepository } from './repositories/users.js';
import { accountRoutes } from './routes/accounts.js';
import { fileRoutes } from './routes/files.js';
import { healthRoutes } from './routes/health.js';
import { sharingRoutes } from './routes/sharing.js';
import { AccountService } from './services/accounts.js';
import { ClaimService } from './services/claims.js';
import { Disclosure } from './services/disclosure.js';
import { FileService } from './services/files.js';
import { HealthService } from './services/health.js';
import { ListCursor } from './services/list-cursor.js';
import { LoginLimits } from './services/login-limits.js';
import { Passwords } from './services/passwords.js';
import { SharingService } from './services/sharing.js';

const JSON_BODY_LIMIT = 1024 * 1024;
const GARBAGE_INTERVAL_MS = 60_000;
/** Leftovers of crashed or abandoned writes are at least an hour old before the sweep takes them. */
const SWEEP_INTERVAL_MS = 3_600_000;

/** One log line per request, when it completes (with its status and time): half of Fastify's two. */
class CompletedRequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    const line = { method: request.method, url: request.url, statusCode: reply.statusCode, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}

/** The store BLOB_STORE names, ready for use; refuses (one line) when it cannot be used. */
async function openBlobStore(dataDir: string, chosen: BlobStoreConfig, db: Knex): Promise<BlobStore> {
  const store =
    chosen.kind === 'file'
      ? new FsBlobStore(dataDir)
      : new S3BlobStore({
          client: createS3Client(chosen),
          bucket: chosen.bucket,
          prefix: chosen.prefix,
          db,
          objects: (handle) => new BlobObjectRepository(handle),
        });
  try {
    await store.init();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

/** Builds the whole server from its configuration, with every dependency wired by hand. */
export async function buildApp(config: Config): Promise<FastifyInstance> {
  const db = await openDatabase(config);
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', 'password'],
        censor: '[redacted]',
      },
    },
    logController: new CompletedRequestLog(),
    trustProxy: config.trustProxy,
    bodyLimit: JSON_BODY_LIMIT,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 4096 },
    // JSON fields keep their natural types: never coerce a number into a string or back.
    ajv: { customOptions: { coerceTypes: false } },
  });
  app.addHook('onClose', async () => {
    await db.destroy();
  });
  // Fastify parses text/plain by default; API.md accepts JSON, multipart and raw bytes only.
  app.removeContentTypeParser('text/plain');

  const users = new UserRepository(db);
  const sessions = new SessionRepository(db);
  const accounts = new AccountService(
    users,
    sessions,
    await Passwords.create(),
    new LoginLimits(new LoginFailureRepository(db)),
    config.tokenTtlSeconds,
  );
  const store = await openBlobStore(config.dataDir, config.blobStore ?? { kind: 'file' }, db).catch(async (error: unknown) => {
    await app.close();
    throw error;
  });
  app.addHook('onClose', () => store.close());
  const health = new HealthService(db, store);
  const swept = await store.sweepTemporary();
  if (swept > 0) app.log.info({ swept }, 'removed temporary files left by an earlier crash');
  const sweepTimer = setInterval(() => {
    store.sweepTemporary().catch((error: unknown) => app.log.warn({ err: error }, 'sweeping abandoned writes failed'));
  }, SWEEP_INTERVAL_MS);
  sweepTimer.unref();
  app.addHook('onClose', async () => clearInterval(sweepTimer));
  const disclosure = new Disclosure(config);
  const files = new FileService(db, store, disclosure, config.maxUploadBytes);
  const claims = new ClaimService(db, store, files, disclosure);
  await files.collectGarbage();
  // Catches blobs whose collection a crash or an outage interrupted.
  const garbageTimer = setInterval(() => {
    files.collectGarbage().catch((error: unknown) => app.log.warn({ err: error }, 'garbage collection failed'));
  }, GARBAGE_INTERVAL_MS);
  garbageTimer.unref();
  app.addHook('onClose', async () => clearInterval(garbageTimer));
  const sharing = new SharingService(db, files, new ListCursor(config.jwtSecret));

  await app.register(errorHandlerPlugin);
  await app.register(openapiPlugin);
  await app.register(authPlugin, { config, accounts });
  await app.register(healthRoutes, { health });
  await app.register(accountRoutes, { config, accounts });
  await app.register(multipartPlugin, { maxUploadBytes: config.maxUploadBytes });
  await app.register(fileRoutes, { files, claims, maxUploadBytes: config.maxUploadBytes });
  await app.register(sharingRoutes, { sharing });
  return app;
}
