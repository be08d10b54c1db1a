import type { Readable } from 'node:stream';
import { ROUTES, ClaimBody, DeleteBody, FileQuery, RawUploadQuery, VerifyBody, fileRouteSchemas } from '@cloudstore/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, validationFailed } from '../errors.js';
import { sendContent } from '../http/content-serving.js';
import { declaredSha256 } from '../http/repr-digest.js';
import { MULTIPART_FIELD_BYTES } from '../plugins/multipart.js';
import type { ClaimService } from '../services/claims.js';
import { DEFAULT_CONTENT_TYPE, type FileService } from '../services/files.js';
import type { VerificationService } from '../services/verification.js';

/** Room for the multipart envelope around a file of the maximum size. */
const MULTIPART_ENVELOPE_BYTES = 64 * 1024;

interface FileRoutesOptions {
  files: FileService;
  claims: ClaimService;
  verification: VerificationService;
  maxUploadBytes: number;
}

export async function fileRoutes(app: FastifyInstance, { files, claims, verification, maxUploadBytes }: FileRoutesOptions) {
  app.get<{ Querystring: FileQuery }>(
    ROUTES.myDrive,
    {
      onRequest: app.authenticateWithOwnFile,
      schema: fileRouteSchemas.download,
    },
    async (request, reply) => {
      if (request.query.filename === undefined) throw validationFailed('the filename query parameter is required');
      const file = await files.resolveServable(request.session, request.query.filename, request.query.owner, request.ownFile);
      return sendContent(request, reply, { ...file, copy: (range, destination) => files.copyContent(file, range, destination) });
    },
  );

  app.post<{ Querystring: RawUploadQuery; Body: ClaimBody | Readable | undefined }>(
    ROUTES.myDrive,
    {
      // All before the body is read: an oversized, anonymous or one-too-many upload costs us nothing.
      onRequest: [
        async (request, reply) => refuseOversizedBody(request, reply, maxUploadBytes),
        app.authenticate,
        async (request, reply) => refuseOverQuota(request, reply, files),
        app.uploadSlot,
      ],
      schema: fileRouteSchemas.upload,
    },
    async (request, reply) => {
      let result;
      if (request.isMultipart()) {
        result = await files.uploadMultipart(request.session, request.parts(), MULTIPART_FIELD_BYTES);
      } else if (isOctetStream(request)) {
        const contentType = request.query.content_type ?? DEFAULT_CONTENT_TYPE;
        const expected = declaredSha256(request.headers['repr-digest']);
        result = await files.upload(request.session, request.query.filename, contentType, request.body as Readable, expected);
      } else {
        result = await claims.claim(request.session, request.body as ClaimBody);
      }
      return reply.code(201).send(result);
    },
  );

  app.post<{ Body: VerifyBody }>(ROUTES.verify, { onRequest: app.authenticate, schema: fileRouteSchemas.verify }, async (request) =>
    verification.verify(request.session, request.body),
  );

  app.delete<{ Querystring: FileQuery; Body: DeleteBody }>(
    ROUTES.myDrive,
    {
      // A DELETE may come without a body (?filename=): validate it as an empty object then.
      preValidation: async (request) => {
        request.body ??= {};
      },
      onRequest: app.authenticate,
      schema: fileRouteSchemas.delete,
    },
    async (request) => {
      const filename = request.body.filename ?? request.query.filename;
      if (filename === undefined) throw validationFailed('say which file: {"filename"} or ?filename=');
      return files.delete(request.session, filename, request.body.owner ?? request.query.owner);
    },
  );
}

/**
 * A Content-Length that would take the caller over the quota is refused before the body is read
 * (a raw upload counts the file of that name it replaces; a multipart body names its file inside,
 * so only a file larger than the whole quota is refused here). The rest is checked when recorded.
 */
async function refuseOverQuota(request: FastifyRequest, reply: FastifyReply, files: FileService) {
  const length = Number(request.headers['content-length']);
  if (files.quotaBytes === null || !Number.isFinite(length) || isJson(request)) return;
  const { filename } = request.query as { filename?: unknown };
  const isMultipart = (request.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/');
  try {
    if (isMultipart) await files.ensureRoom(request.session, Math.max(0, length - MULTIPART_ENVELOPE_BYTES));
    else await files.ensureRoom(request.session, length, typeof filename === 'string' ? filename : undefined);
  } catch (error) {
    reply.header('connection', 'close');
    throw error;
  }
}

function isJson(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase() === 'application/json';
}

function isOctetStream(request: FastifyRequest): boolean {
  return (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase() === 'application/octet-stream';
}

/** A Content-Length that already says too much is refused before the body is read. */
async function refuseOversizedBody(request: FastifyRequest, reply: FastifyReply, maxUploadBytes: number) {
  const length = Number(request.headers['content-length']);
  const isMultipart = (request.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/');
  const limit = isMultipart ? maxUploadBytes + MULTIPART_ENVELOPE_BYTES : maxUploadBytes;
  if (Number.isFinite(length) && length > limit) {
    reply.header('connection', 'close');
    throw new AppError('PAYLOAD_TOO_LARGE', `the upload is larger than the limit of ${maxUploadBytes} bytes`);
  }
}
