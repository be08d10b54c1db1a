import type { OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { MEDIA_TYPE_MAX_BYTES, SHA256_HEX_PATTERN, isMediaType, ROUTES, ClaimBody, DeleteBody, DeleteReply, FileQuery, RawUploadQuery, UploadReply, ErrorSchema } from '@cloudstore/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import parseRange from 'range-parser';
import { AppError, validationFailed } from '../errors.js';
import { SECURED } from '../plugins/openapi.js';
import { MULTIPART_FIELD_BYTES } from '../plugins/multipart.js';
import type { ClaimService } from '../services/claims.js';
import { DEFAULT_CONTENT_TYPE, checkedFilename, type FileService, type ResolvedFile } from '../services/files.js';
import type { StagedBlob } from '../store/blob-store.js';
import { contentDisposition } from './content-disposition.js';
import { formatReprDigest, parseReprDigest } from './repr-digest.js';

/** Room for the multipart envelope around a file of the maximum size. */
const MULTIPART_ENVELOPE_BYTES = 64 * 1024;
const sha256Hex = new RegExp(SHA256_HEX_PATTERN);

interface FileRoutesOptions {
  files: FileService;
  claims: ClaimService;
  maxUploadBytes: number;
}

export async function fileRoutes(app: FastifyInstance, { files, claims, maxUploadBytes }: FileRoutesOptions) {
  app.get<{ Querystring: FileQuery }>(
    ROUTES.myDrive,
    {
      onRequest: app.authenticate,
      schema: { tags: ['files'], ...SECURED, querystring: FileQuery, response: { 404: ErrorSchema } },
    },
    async (request, reply) => {
      if (request.query.filename === undefined) throw validationFailed('the filename query parameter is required');
      const file = await files.resolve(request.session, request.query.filename, request.query.owner);
      return sendContent(request, reply, file, files);
    },
  );

  app.post<{ Querystring: RawUploadQuery; Body: ClaimBody | Readable | undefined }>(
    ROUTES.myDrive,
    {
      // All before the body is read: an oversized, anonymous or one-too-many upload costs us nothing.
      onRequest: [async (request, reply) => refuseOversizedBody(request, reply, maxUploadBytes), app.authenticate, app.uploadSlot],
      schema: {
        tags: ['files'],
        ...SECURED,
        description:
          'multipart/form-data: upload (fields filename, sha256 before the file part). ' +
          'application/octet-stream: raw upload (?filename=, optional content_type= and Repr-Digest). ' +
          'application/json: claim by digest with proof of possession.',
        querystring: RawUploadQuery,
        body: { content: { 'application/json': { schema: ClaimBody } } },
        response: { 201: UploadReply },
      },
    },
    async (request, reply) => {
      let result;
      if (request.isMultipart()) {
        result = await multipartUpload(request, files);
      } else if (isOctetStream(request)) {
        const filename = checkedFilename(request.query.filename);
        const contentType = request.query.content_type ?? DEFAULT_CONTENT_TYPE;
        const expected = parseReprDigest(request.headers['repr-digest']);
        result = await files.upload(request.session, filename, contentType, request.body as Readable, expected);
      } else {
        result = await claims.claim(request.session, request.body as ClaimBody);
      }
      return reply.code(201).send(result);
    },
  );

  app.delete<{ Querystring: FileQuery; Body: DeleteBody }>(
    ROUTES.myDrive,
    {
      // A DELETE may come without a body (?filename=): validate it as an empty object then.
      preValidation: async (request) => {
        request.body ??= {};
      },
      onRequest: app.authenticate,
      schema: { tags: ['files'], ...SECURED, querystring: FileQuery, body: DeleteBody, response: { 200: DeleteReply } },
    },
    async (request) => {
      const filename = request.body.filename ?? request.query.filename;
      if (filename === undefined) throw validationFailed('say which file: {"filename"} or ?filename=');
      return files.delete(request.session, filename, request.body.owner ?? request.query.owner);
    },
  );
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

/**
 * One file part named `file`, text fields before it. The bytes are staged while the rest of
 * the request is read, and recorded only once the whole request proved well-formed.
 */
async function multipartUpload(request: FastifyRequest, files: FileService) {
  const fields: Record<string, string> = {};
  let staged: StagedBlob | undefined;
  let filename = '';
  let contentType = DEFAULT_CONTENT_TYPE;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'field') {
        if (staged) throw validationFailed('text fields must come before the file part');
        if (part.valueTruncated || Buffer.byteLength(String(part.value)) > MULTIPART_FIELD_BYTES) {
          throw validationFailed(`the field '${part.fieldname}' is over ${MULTIPART_FIELD_BYTES} bytes`);
        }
        fields[part.fieldname] = String(part.value);
        continue;
      }
      if (staged) throw validationFailed('send one file part only');
      if (part.fieldname !== 'file') throw validationFailed("the file part must be named 'file'");
      filename = checkedFilename(fields.filename ?? part.filename);
      if (fields.sha256 !== undefined && !sha256Hex.test(fields.sha256)) {
        throw validationFailed('sha256 must be 64 hexadecimal digits');
      }
      if (!isMediaType(part.mimetype)) throw validationFailed(`the file part's type must be a type/subtype media type of at most ${MEDIA_TYPE_MAX_BYTES} bytes`);
      contentType = part.mimetype;
      staged = await files.stage(part.file);
    }
  } catch (error) {
    await staged?.discard();
    throw isMalformedMultipart(error) ? validationFailed('the multipart body is malformed') : error;
  }
  if (!staged) throw validationFailed("no file part named 'file'");
  return files.record(request.session, filename, contentType, staged, fields.sha256);
}

/**
 * Busboy reports a malformed body (no boundary, a part cut short) as a plain Error; everything
 * else that can fail here carries a code (ours, Fastify's, or the file system's errno).
 */
function isMalformedMultipart(error: unknown): boolean {
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  return !(error instanceof AppError) && code === undefined && statusCode === undefined;
}

/** 200 with the whole content, 206 for one range, 304 when the client has it (API.md, "Download"). */
function sendContent(request: FastifyRequest, reply: FastifyReply, file: ResolvedFile, files: FileService) {
  const etag = `"${file.sha256}"`;
  reply.headers({
    etag,
    'repr-digest': formatReprDigest(file.sha256),
    'accept-ranges': 'bytes',
    'x-content-type-options': 'nosniff',
    'content-security-policy': 'sandbox',
    'last-modified': new Date(file.updatedAt).toUTCString(),
  });
  if (matchesEtag(request.headers['if-none-match'], file.sha256)) return reply.code(304).send();

  reply.headers({ 'content-type': file.contentType, 'content-disposition': contentDisposition(file.filename) });
  const rangeHeader = rfc9110Range(request.headers.range, file.size);
  if (rangeHeader !== undefined) {
    const ranges = parseRange(file.size, rangeHeader);
    if (ranges === -1) {
      reply.header('content-range', `bytes */${file.size}`);
      throw new AppError('RANGE_NOT_SATISFIABLE', `the range starts at or beyond the end of the ${file.size}-byte file`);
    }
    if (Array.isArray(ranges) && ranges.type === 'bytes' && ranges.length === 1) {
      const [{ start, end }] = ranges;
      reply.code(206).headers({ 'content-range': `bytes ${start}-${end}/${file.size}`, 'content-length': end - start + 1 });
      return streamContent(request, reply, file, files, { start, end });
    }
    // Malformed, or several ranges: the whole file.
  }
  reply.header('content-length', file.size);
  if (file.size === 0) return reply.send('');
  return streamContent(request, reply, file, files, { start: 0, end: file.size - 1 });
}

/**
 * Writes the bytes straight to the socket through a few reused buffers. Streaming a fresh
 * 1 MiB buffer per read made V8 collect the whole heap every few reads (external memory
 * pressure), which halved download speed; the headers are Fastify's, set above.
 */
async function streamContent(
  request: FastifyRequest,
  reply: FastifyReply,
  file: ResolvedFile,
  files: FileService,
  range: { start: number; end: number },
) {
  reply.hijack();
  const response = reply.raw;
  response.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
  if (request.method === 'HEAD') {
    response.end();
    return reply;
  }
  try {
    await files.copyContent(file, range, response);
    response.end();
  } catch (error) {
    // The status line is gone: all that is left is to cut the response short.
    request.log.warn({ err: error }, 'download interrupted');
    response.destroy();
  }
  return reply;
}

/**
 * The Range header as range-parser should read it. It calls two single ranges unsatisfiable
 * that RFC 9110 answers otherwise: a suffix longer than the file means the whole file, and a
 * last byte before the first makes the header invalid, so it is ignored (undefined).
 */
function rfc9110Range(header: string | undefined, size: number): string | undefined {
  const single = header === undefined ? null : /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!single) return header;
  const [, first, last] = single;
  if (first === '' && last !== '' && Number(last) > size) return 'bytes=0-';
  if (first !== '' && last !== '' && Number(last) < Number(first)) return undefined;
  return header;
}

function matchesEtag(header: string | undefined, sha256: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed.replace(/^W\//, '') === `"${sha256}"`;
  });
}
