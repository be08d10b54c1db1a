import { Type } from '@sinclair/typebox';
import { COMMON_ERRORS, CROSS_SITE, SECURED, UNAUTHENTICATED, errorResponse, header } from './responses.js';

/** The full schema of each `/cloud/uploads/` route (tus 1.0.0): validation, serialization and OpenAPI in one. */

const tags = ['uploads'];
/** The one version of the tus protocol served. */
export const TUS_VERSION = '1.0.0';
export const TUS_EXTENSIONS = 'creation,creation-with-upload,termination,expiration';
/** The media type of a tus PATCH body (and of a creation-with-upload POST body). */
export const TUS_BODY_TYPE = 'application/offset+octet-stream';

const COUNT = Type.Integer({ minimum: 0 });
const TUS_RESUMABLE = { 'Tus-Resumable': header('1.0.0, on every response of these routes') };
const EXPIRES = { 'Upload-Expires': header('when the upload expires if nothing more arrives (HTTP-date, 24 h after the last byte)') };
const OFFSET = { 'Upload-Offset': header('bytes received and durable so far', COUNT) };

/** Bytes of the upload, in the document only (Fastify hands the stream over unread). */
const STREAMED_BODY = { [TUS_BODY_TYPE]: { schema: Type.String({ format: 'binary' }) } };

/** The request headers of a tus request; each is checked by the route itself, so that it answers tus's statuses (412, 409, 413). */
const tusResumableHeader = Type.Optional(Type.String({ description: '1.0.0 (else 412 PRECONDITION_FAILED)' }));

const PRECONDITION_FAILED = {
  412: errorResponse(412, ['PRECONDITION_FAILED'], {}, { ...TUS_RESUMABLE, 'Tus-Version': header('1.0.0: the versions served') }),
};
const NOT_FOUND = {
  404: errorResponse(404, ['FILE_NOT_FOUND'], {}, TUS_RESUMABLE),
};
const RATE_LIMITED = {
  429: errorResponse(429, ['RATE_LIMITED'], {}, { 'Retry-After': header('seconds to wait before trying again', COUNT) }),
};
/** A request for an upload whose current holder did not let go in time (docs/API.md). */
const HELD = { 409: errorResponse(409, ['UPLOAD_OFFSET_MISMATCH']) };
/** What a request that brings bytes can meet. */
const BYTES_ERRORS = {
  ...COMMON_ERRORS,
  ...UNAUTHENTICATED,
  403: errorResponse(403, [CROSS_SITE]),
  ...PRECONDITION_FAILED,
  413: errorResponse(413, ['PAYLOAD_TOO_LARGE']),
  415: errorResponse(415, ['UNSUPPORTED_MEDIA_TYPE']),
  422: errorResponse(422, ['DIGEST_MISMATCH']),
  ...RATE_LIMITED,
  507: errorResponse(507, ['INSUFFICIENT_STORAGE']),
};
const UploadParams = Type.Object({ id: Type.String({ description: 'the id from the Location of the creation' }) });

const noContent = (description: string, headers: Record<string, ReturnType<typeof header>>) =>
  Type.Null({ description, headers: { ...TUS_RESUMABLE, ...headers } });

const options = {
  tags,
  ...SECURED,
  summary: 'What the tus server offers',
  description: 'The tus versions, extensions and largest upload this server takes. Authenticated like every `/cloud/` route.',
  response: {
    204: noContent("The server's tus capabilities", {
      'Tus-Version': header('1.0.0'),
      'Tus-Extension': header(TUS_EXTENSIONS),
      'Tus-Max-Size': header('MAX_UPLOAD_BYTES', COUNT),
    }),
    ...COMMON_ERRORS,
    ...UNAUTHENTICATED,
  },
};

const create = {
  tags,
  ...SECURED,
  summary: 'Start a resumable upload',
  description:
    '`Upload-Length` (deferred length is not offered) and `Upload-Metadata` with `filename` (required), and optionally ' +
    '`content_type` and `sha256` (hex), each value base64. Everything is checked before any byte is stored. With a ' +
    "`application/offset+octet-stream` body (creation-with-upload), its bytes are the upload's first. An upload " +
    'completed here (its whole length in the body, or a length of 0) is recorded as a raw upload of that name.',
  headers: Type.Object({
    'tus-resumable': tusResumableHeader,
    'upload-length': Type.Optional(Type.String({ description: "the whole upload's size in bytes, at most MAX_UPLOAD_BYTES" })),
    'upload-metadata': Type.Optional(Type.String({ description: 'filename BASE64[,content_type BASE64][,sha256 BASE64]' })),
  }),
  streamedBody: STREAMED_BODY,
  'x-optional-body': true,
  response: {
    201: noContent('Created: PATCH the bytes to Location', {
      Location: header('/cloud/uploads/<id>'),
      ...OFFSET,
      ...EXPIRES,
      'Repr-Digest': header('when the creation completed the upload: sha-256=:<base64>: of the content (RFC 9530)'),
    }),
    ...BYTES_ERRORS,
  },
};

const status = {
  tags,
  ...SECURED,
  summary: 'How much of an upload arrived',
  description:
    'The bytes received and durable (`Upload-Offset`), to resume from. A PATCH still writing the upload is stopped ' +
    "first, keeping what arrived (409 if it does not let go within 10 s). Another user's upload is 404, like one " +
    'that does not exist, has expired, or was completed.',
  params: UploadParams,
  headers: Type.Object({ 'tus-resumable': tusResumableHeader }),
  response: {
    200: noContent("The upload's progress", {
      ...OFFSET,
      'Upload-Length': header("the whole upload's size", COUNT),
      'Upload-Metadata': header('as sent at creation'),
      ...EXPIRES,
      'Cache-Control': header('no-store'),
    }),
    ...COMMON_ERRORS,
    ...UNAUTHENTICATED,
    ...PRECONDITION_FAILED,
    ...NOT_FOUND,
    ...HELD,
  },
};

const append = {
  tags,
  ...SECURED,
  summary: 'Send more bytes of an upload',
  description:
    'Appends the body at `Upload-Offset`, which must equal the bytes received so far (else 409). The 204 comes once ' +
    'the bytes are durable; an interrupted PATCH keeps every durable byte (HEAD says how many). A second PATCH of ' +
    'the same upload while one is in progress is 409 at once. The PATCH that brings the last byte records the file ' +
    'as a raw upload of that name would, and its 204 carries `Repr-Digest`.',
  params: UploadParams,
  headers: Type.Object({
    'tus-resumable': tusResumableHeader,
    'upload-offset': Type.Optional(Type.String({ description: 'the bytes received so far, as HEAD says' })),
  }),
  streamedBody: STREAMED_BODY,
  'x-optional-body': true,
  response: {
    204: noContent('The bytes are durable', {
      ...OFFSET,
      ...EXPIRES,
      'Repr-Digest': header('on the PATCH that completed the upload: sha-256=:<base64>: of the content (RFC 9530)'),
    }),
    ...BYTES_ERRORS,
    ...NOT_FOUND,
    ...HELD,
  },
};

const terminate = {
  tags,
  ...SECURED,
  summary: 'Abandon an upload',
  description: 'The bytes received are discarded and the id is 404 from then on.',
  params: UploadParams,
  headers: Type.Object({ 'tus-resumable': tusResumableHeader }),
  response: {
    204: noContent('Discarded', {}),
    ...COMMON_ERRORS,
    ...UNAUTHENTICATED,
    403: errorResponse(403, [CROSS_SITE]),
    ...PRECONDITION_FAILED,
    ...NOT_FOUND,
    ...HELD,
  },
};

export const uploadRouteSchemas = { options, create, status, append, terminate };
