import path from 'node:path';
import type { Knex } from 'knex';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { DEFAULT_AUDIT_RETENTION_DAYS, type BlobStoreConfig, type Config } from './config.js';
import { dialectOf, openDatabase } from './db/open.js';
import { openPreparedReads } from './db/prepared-reads.js';
import { BlobObjectRepository } from './repositories/blob-objects.js';
import { ResumableUploadRepository } from './repositories/resumable-uploads.js';
import type { BlobStore } from './store/blob-store.js';
import { FsBlobStore } from './store/fs-store.js';
import { createS3Client } from './store/s3-client.js';
import { S3BlobStore } from './store/s3-store.js';
import { clientErrorHandler } from './http/client-errors.js';
import { standardOutputLines } from './log-lines-per-turn.js';
import { answerAtTurnEnd } from './http/answers-per-turn.js';
import { RequestDeadlines } from './http/request-deadlines.js';
import { authPlugin } from './plugins/auth.js';
import { errorHandlerPlugin } from './plugins/error-handler.js';
import { multipartPlugin } from './plugins/multipart.js';
import { openapiPlugin } from './plugins/openapi.js';
import { uploadLimitsPlugin } from './plugins/upload-limits.js';
import { AuditRepository } from './repositories/audit.js';
import { LoginFailureRepository } from './repositories/login-failures.js';
import { RegistrationRepository } from './repositories/registrations.js';
import { SecretRepository } from './repositories/secrets.js';
import { SessionRepository } from './repositories/sessions.js';
import { UploadSlotRepository } from './repositories/upload-slots.js';
import { UserRepository } from './repositories/users.js';
import { accountRoutes } from './routes/accounts.js';
import { auditRoutes } from './routes/audit.js';
import { fileRoutes } from './routes/files.js';
import { healthRoutes } from './routes/health.js';
import { homeRoutes } from './routes/home.js';
import { sharingRoutes } from './routes/sharing.js';
import { uploadRoutes } from './routes/uploads.js';
import { AccountService } from './services/accounts.js';
import { AuditService } from './services/audit.js';
import { ClaimService } from './services/claims.js';
import { Disclosure } from './services/disclosure.js';
import { FileService } from './services/files.js';
import { HealthService } from './services/health.js';
import { ListCursor } from './services/list-cursor.js';
import { LoginLimits } from './services/login-limits.js';
import { Passwords } from './services/passwords.js';
import { RegistrationLimits } from './services/registration-limits.js';
import { RESUMABLE_SWEEP_INTERVAL_MS, ResumableUploadService } from './services/resumable-uploads.js';
import { Scrubber } from './services/scrub.js';
import { VerificationService } from './services/verification.js';
import { ScrubRepository } from './repositories/scrub.js';
import { SharingService } from './services/sharing.js';
import { tokenSigningKey } from './services/signing-key.js';
import { ProcessUploadSlots, SharedUploadSlots, type UploadSlots } from './services/upload-slots.js';

const JSON_BODY_LIMIT = 1024 * 1024;
const GARBAGE_INTERVAL_MS = 60_000;
/**
 * Node checks `headersTimeout` and `requestTimeout` only this often (30 s by default, which
 * would let a 30 s deadline land anywhere up to 60 s).
 */
const DEADLINE_CHECKS_MAX_INTERVAL_MS = 2000;
/** Expired sessions go within an hour of expiring (API.md): swept at start-up and this often. */
const SESSION_SWEEP_INTERVAL_MS = 10 * 60_000;
/** Leftovers of crashed or abandoned writes are at least an hour old before the sweep takes them. */
const SWEEP_INTERVAL_MS = 3_600_000;

declare module 'fastify' {
  interface FastifyInstance {
    /** The background scrub, whose `scrubbed` events tests and operators may follow. */
    scrubber: Scrubber;
  }
}

/** One log line per request, when it completes (with its status and time): half of Fastify's two. */
class CompletedRequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    const line = { method: request.method, url: request.url, statusCode: reply.statusCode, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}

/**
 * TRUST_PROXY as a hop count: the `hops` nearest addresses (the socket's peer first) are proxies,
 * the next one is the client. Fastify 5 turns a bare number into "trust nothing", since it cannot
 * tell a proxy from a client that reached the port directly: the operator who gives a count says
 * that every request comes through the proxies.
 */
function trustHops(hops: number) {
  return (_address: string, hop: number) => hop < hops;
}

/** Runs `task` every `intervalMs` until the app closes; a failure is logged and the next run tries again. */
function repeat(app: FastifyInstance, intervalMs: number, what: string, task: () => Promise<unknown>): void {
  const timer = setInterval(() => {
    task().catch((error: unknown) => app.log.warn({ err: error }, `${what} failed`));
  }, intervalMs);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
}

/** The store BLOB_STORE names, ready for use; refuses (one line) when it cannot be used. */
export async function openBlobStore(dataDir: string, chosen: BlobStoreConfig, db: Knex): Promise<BlobStore> {
  const store =
    chosen.kind === 'file'
      ? new FsBlobStore(dataDir)
      : new S3BlobStore({
          client: createS3Client(chosen),
          bucket: chosen.bucket,
          prefix: chosen.prefix,
          db,
          objects: (handle) => new BlobObjectRepository(handle),
          partBuffers: chosen.partBuffers,
          spillDirectory: path.join(dataDir, 'tmp'),
          resumables: (handle) => new ResumableUploadRepository(handle),
        });
  try {
    await store.init();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

/**
 * UPLOADS_PER_USER's count: in the database on MySQL/MariaDB, where several instances may serve
 * the same users; in this process on SQLite, which one instance serves alone.
 */
function uploadSlots(app: FastifyInstance, db: Knex, config: Config): UploadSlots {
  const slots =
    dialectOf(db) === 'mysql'
      ? new SharedUploadSlots(new UploadSlotRepository(db), {
          perUser: config.uploadsPerUser,
          leaseMs: config.uploadSlotLeaseMs,
          onError: (error, what) => app.log.warn({ err: error }, `${what} failed`),
        })
      : new ProcessUploadSlots(config.uploadsPerUser);
  app.addHook('onClose', () => slots.close());
  return slots;
}

/** Builds the whole server from its configuration, with every dependency wired by hand. */
export async function buildApp(config: Config): Promise<FastifyInstance> {
  const db = await openDatabase(config);
  const deadlines = new RequestDeadlines(config.bodyIdleTimeoutMs);
  const app = Fastify({
    http: {
      headersTimeout: config.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(DEADLINE_CHECKS_MAX_INTERVAL_MS, Math.ceil(config.headersTimeoutMs / 10)),
    },
    // Whole requests; uploads are exempted once they start, and timed by the idle deadline.
    requestTimeout: config.requestTimeoutMs,
    clientErrorHandler: clientErrorHandler(deadlines),
    logger: {
      level: config.logLevel,
      ...(config.prettyLogs
        ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' } } }
        : { stream: standardOutputLines }),
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', 'password'],
        censor: '[redacted]',
      },
    },
    logController: new CompletedRequestLog(),
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    bodyLimit: JSON_BODY_LIMIT,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 4096 },
    // JSON fields keep their natural types: never coerce a number into a string or back.
    ajv: { customOptions: { coerceTypes: false } },
  });
  const reads = openPreparedReads(db);
  app.addHook('onClose', async () => {
    deadlines.close();
    await reads.close();
    await db.destroy();
  });
  // Fastify parses text/plain by default; API.md accepts JSON, multipart and raw bytes only.
  app.removeContentTypeParser('text/plain');
  // The answers of one turn of the event loop go out together (a download answers in content-serving.ts).
  app.addHook('onSend', (_request, reply, payload, done) => {
    answerAtTurnEnd(reply.raw.socket);
    done(null, payload);
  });

  const users = new UserRepository(db);
  const sessions = new SessionRepository(db, reads);
  const passwords = await Passwords.create(config.hashConcurrency, config.passwordHashCost);
  app.addHook('onClose', () => passwords.close());
  const accounts = new AccountService(
    users,
    sessions,
    passwords,
    new LoginLimits(new LoginFailureRepository(db)),
    new RegistrationLimits(new RegistrationRepository(db), config.registerLimit),
    { tokenTtlSeconds: config.tokenTtlSeconds, isRegistrationOpen: config.registration === 'open', quotaBytes: config.quotaBytes },
    new AuditRepository(db),
  );
  const blobStore = config.blobStore ?? { kind: 'file' };
  const store = await openBlobStore(config.dataDir, blobStore, db).catch(async (error: unknown) => {
    await app.close();
    throw error;
  });
  app.addHook('onClose', () => store.close());
  const health = new HealthService(db, store);
  const swept = await store.sweepTemporary();
  if (swept > 0) app.log.info({ swept }, 'removed temporary files left by an earlier crash');
  repeat(app, SWEEP_INTERVAL_MS, 'sweeping abandoned writes', () => store.sweepTemporary());
  const secrets = new SecretRepository(db);
  const disclosure = await Disclosure.open(config, secrets);
  const signingKey = await tokenSigningKey(config, secrets);
  const files = new FileService(db, store, disclosure, config.maxUploadBytes, config.quotaBytes ?? null);
  const claims = new ClaimService(db, store, files, disclosure);
  // Before the server listens: nothing uploads yet, so every unrecorded blob is a crash's leftover.
  // Only the file store's instance is alone: on S3 another instance may be uploading, and the
  // hourly sweep removes unrecorded objects once they are an hour old (API.md).
  if (blobStore.kind === 'file') {
    const unrecorded = await files.removeUnrecordedBeforeListening();
    if (unrecorded > 0) app.log.info({ unrecorded }, 'removed stored blobs that no row records, left by an earlier crash');
  }
  await files.collectGarbage();
  // Catches blobs whose collection a crash or an outage interrupted.
  repeat(app, GARBAGE_INTERVAL_MS, 'garbage collection', () => files.collectGarbage());
  await sessions.deleteExpired(Date.now());
  repeat(app, SESSION_SWEEP_INTERVAL_MS, 'expired session sweep', () => sessions.deleteExpired(Date.now()));
  // Audit retention (AUDIT_RETENTION_DAYS): with the session sweep, at start-up and every 10 minutes.
  const audit = new AuditService(db, signingKey, config.auditRetentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS);
  await audit.sweep();
  repeat(app, SESSION_SWEEP_INTERVAL_MS, 'audit retention sweep', () => audit.sweep());
  const sharing = new SharingService(db, files, new ListCursor(signingKey));
  // Resumable uploads (tus): expired ones lose their bytes within the hour (API.md).
  const uploads = new ResumableUploadService(db, store, files, {
    maxUploadBytes: config.maxUploadBytes,
    expiryMs: config.resumableExpiryMs,
  });
  app.addHook('onClose', () => uploads.close());
  await uploads.removeExpired();
  repeat(app, config.resumableSweepIntervalMs ?? RESUMABLE_SWEEP_INTERVAL_MS, 'expired resumable upload sweep', () =>
    uploads.removeExpired(),
  );
  // The background scrub (API.md, "Scrub and verify"): stopped before the store and database close.
  const scrubber = new Scrubber(
    new ScrubRepository(db),
    store,
    { bytesPerSecond: config.scrubBytesPerSecond, intervalMs: config.scrubIntervalMs, idlePollMs: config.scrubIdlePollMs },
    app.log.child({ component: 'scrub' }),
  );
  app.decorate('scrubber', scrubber);
  app.addHook('onReady', async () => scrubber.start());
  app.addHook('preClose', () => scrubber.stop());
  const verification = new VerificationService(db, store, files, config.verifyLimit);

  await app.register(errorHandlerPlugin);
  await app.register(openapiPlugin);
  await app.register(authPlugin, { config, signingKey, accounts });
  await app.register(homeRoutes);
  await app.register(healthRoutes, { health });
  await app.register(accountRoutes, { config, accounts });
  await app.register(multipartPlugin, { maxUploadBytes: config.maxUploadBytes });
  await app.register(uploadLimitsPlugin, { slots: uploadSlots(app, db, config), deadlines });
  await app.register(fileRoutes, { files, claims, verification, maxUploadBytes: config.maxUploadBytes });
  await app.register(sharingRoutes, { sharing });
  await app.register(uploadRoutes, { uploads, maxUploadBytes: config.maxUploadBytes });
  await app.register(auditRoutes, { audit });
  return app;
}
