import type { Readable } from 'node:stream';
import { ROUTES, TUS_BODY_TYPE, TUS_EXTENSIONS, TUS_VERSION, formatReprDigest, uploadRouteSchemas } from '@cloudstore/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { byteCountHeader, uploadMetadata } from '../http/tus-headers.js';
import type { ResumableUploadService, UploadProgress } from '../services/resumable-uploads.js';

interface UploadRoutesOptions {
  uploads: ResumableUploadService;
  maxUploadBytes: number;
}

type ById = { Params: { id: string } };

const UPLOAD_PATH = `${ROUTES.uploads}:id`;

/** tus asks every request but OPTIONS to say which version it speaks (412 otherwise). */
async function requireTusVersion(request: FastifyRequest) {
  if (request.headers['tus-resumable'] !== TUS_VERSION) {
    throw new AppError(
      'PRECONDITION_FAILED',
      `send Tus-Resumable: ${TUS_VERSION}, the version this server speaks`,
      {},
      { 'tus-version': TUS_VERSION },
    );
  }
}

const mediaTypeOf = (request: FastifyRequest) => (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
const hasBody = (request: FastifyRequest) =>
  request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? 0) > 0;

/** A tus body is application/offset+octet-stream; refused before it is read (a PATCH always has one, if empty). */
function requireTusBody(isOptional: boolean) {
  return async (request: FastifyRequest) => {
    if (isOptional && !hasBody(request)) return;
    if (mediaTypeOf(request) !== TUS_BODY_TYPE) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', `a tus body is sent as ${TUS_BODY_TYPE}`);
    }
  };
}

const declaredLength = (request: FastifyRequest) =>
  request.headers['content-length'] === undefined ? undefined : Number(request.headers['content-length']);

function progressHeaders(reply: FastifyReply, progress: UploadProgress) {
  reply.header('upload-offset', progress.offset).header('upload-expires', new Date(progress.expiresAt).toUTCString());
  if (progress.sha256 !== undefined) reply.header('repr-digest', formatReprDigest(progress.sha256));
}

/** `/cloud/uploads/`: resumable uploads, tus 1.0.0 (API.md, "Resumable upload"). */
export async function uploadRoutes(app: FastifyInstance, { uploads, maxUploadBytes }: UploadRoutesOptions) {
  app.addContentTypeParser(TUS_BODY_TYPE, (_request, payload, done) => done(null, payload));
  // Every tus response says the version, errors included.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('tus-resumable', TUS_VERSION);
  });

  app.options(ROUTES.uploads, { onRequest: app.authenticate, schema: uploadRouteSchemas.options }, async (_request, reply) => {
    reply.header('tus-version', TUS_VERSION).header('tus-extension', TUS_EXTENSIONS).header('tus-max-size', maxUploadBytes);
    return reply.code(204).send();
  });

  app.post(
    ROUTES.uploads,
    { onRequest: [requireTusVersion, app.authenticate, requireTusBody(true), app.uploadSlot], schema: uploadRouteSchemas.create },
    async (request, reply) => {
      if (request.headers['upload-defer-length'] !== undefined) {
        throw new AppError('VALIDATION_FAILED', 'deferred length is not offered: send Upload-Length');
      }
      const length = byteCountHeader('Upload-Length', request.headers['upload-length']);
      const rawMetadata = String(request.headers['upload-metadata'] ?? '');
      const body = hasBody(request) ? (request.body as Readable) : undefined;
      const progress = await uploads.create(request.session, { length, metadata: uploadMetadata(rawMetadata), rawMetadata }, body);
      progressHeaders(reply, progress);
      return reply
        .code(201)
        .header('location', ROUTES.uploads + progress.id)
        .send();
    },
  );

  app.head<ById>(
    UPLOAD_PATH,
    {
      onRequest: [requireTusVersion, app.authenticate],
      schema: uploadRouteSchemas.status,
      // @fastify/swagger leaves HEAD routes out unless asked: this one is no mirror of a GET.
      config: { swagger: { exposeHeadRoute: true } },
    },
    async (request, reply) => {
      const progress = await uploads.status(request.session, request.params.id);
      progressHeaders(reply, progress);
      reply.header('upload-length', progress.length).header('cache-control', 'no-store');
      if (progress.metadata !== '') reply.header('upload-metadata', progress.metadata);
      return reply.code(200).send();
    },
  );

  app.patch<ById>(
    UPLOAD_PATH,
    { onRequest: [requireTusVersion, app.authenticate, requireTusBody(false), app.uploadSlot], schema: uploadRouteSchemas.append },
    async (request, reply) => {
      const offset = byteCountHeader('Upload-Offset', request.headers['upload-offset']);
      const body = (request.body as Readable | undefined) ?? request.raw;
      const progress = await uploads.append(request.session, request.params.id, offset, body, declaredLength(request));
      progressHeaders(reply, progress);
      return reply.code(204).send();
    },
  );

  app.delete<ById>(
    UPLOAD_PATH,
    { onRequest: [requireTusVersion, app.authenticate], schema: uploadRouteSchemas.terminate },
    async (request, reply) => {
      await uploads.terminate(request.session, request.params.id);
      return reply.code(204).send();
    },
  );
}
