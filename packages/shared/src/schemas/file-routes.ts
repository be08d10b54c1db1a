import { Type } from '@sinclair/typebox';
import { FileQuery, FilenameField, Sha256Field } from './common.js';
import { ClaimBody, DeleteBody, DeleteReply, RawUploadQuery, UploadReply, VerifyBody, VerifyReply } from './files.js';
import {
  BODY_HEADERS,
  COMMON_ERRORS,
  CONTENT_DAMAGED,
  CONTENT_HEADERS,
  CROSS_SITE,
  JSON_BODY_ERRORS,
  PROOF_REQUIRED,
  RETRY_AFTER,
  SECURED,
  UNAUTHENTICATED,
  binaryResponse,
  conflict,
  described,
  errorResponse,
  header,
} from './responses.js';

/** The full schema of each `/cloud/my-drive/` route: validation, serialization and OpenAPI in one. */

const tags = ['files'];
const BINARY = Type.String({ format: 'binary' });

const download = {
  tags,
  ...SECURED,
  summary: 'Download a file',
  description:
    "Without `owner`, NAME is the caller's own file, else the one file of that name shared with the caller " +
    '(several: 409 with `owners`). One `Range` gives 206; `If-None-Match` with the ETag gives 304; ' +
    '`If-Match` with another ETag gives 412 (a resumed download whose file changed). ' +
    'A file the caller may not read is 404, like one that does not exist. Content whose stored bytes no longer ' +
    'match its digest is 503 CONTENT_DAMAGED, no byte served.',
  querystring: FileQuery,
  headers: Type.Object({
    range: Type.Optional(Type.String({ description: 'bytes=first-last: one range gives 206, several the whole file' })),
    'if-none-match': Type.Optional(Type.String({ description: 'the ETag the client holds: 304 when it matches' })),
    'if-match': Type.Optional(
      Type.String({ description: 'the ETag of the copy being resumed: 412 unless it matches (strong comparison)' }),
    ),
  }),
  response: {
    200: binaryResponse('The whole content, with its type as uploaded', { ...CONTENT_HEADERS, ...BODY_HEADERS }),
    206: binaryResponse('One range of the content', {
      ...CONTENT_HEADERS,
      ...BODY_HEADERS,
      'Content-Range': header('bytes first-last/size'),
    }),
    304: Type.Null({ description: 'The client already has this content (If-None-Match)', headers: CONTENT_HEADERS }),
    ...COMMON_ERRORS,
    ...CONTENT_DAMAGED,
    ...UNAUTHENTICATED,
    404: errorResponse(404, ['FILE_NOT_FOUND']),
    ...conflict('AMBIGUOUS_FILENAME'),
    412: errorResponse(412, ['PRECONDITION_FAILED']),
    416: errorResponse(416, ['RANGE_NOT_SATISFIABLE'], {}, { 'Content-Range': header('bytes */size') }),
  },
};

const upload = {
  tags,
  ...SECURED,
  summary: 'Upload a file, or claim stored content by its digest',
  description:
    'Three bodies, by Content-Type. `multipart/form-data`: one file part named `file`, optional text fields ' +
    '`filename` and `sha256` before it. `application/octet-stream`: the bytes alone, named by `?filename=`, ' +
    "with optional `?content_type=` and a `Repr-Digest` header (the CLI's fast path). `application/json`: a claim " +
    'by digest in two rounds: `{filename, sha256, size}` answers 404 (send the bytes) or 428 with a challenge; ' +
    'the same with `proof: {nonce, digest}` answers 201 without any byte sent. An existing file of that name ' +
    'is replaced in place (`replaced`), its friends keep access. A claim of damaged content is 503 CONTENT_DAMAGED ' +
    '(send the bytes instead); an upload of the same bytes heals it.',
  querystring: RawUploadQuery,
  headers: Type.Object({
    'repr-digest': Type.Optional(Type.String({ description: 'raw upload: sha-256=:<base64>: (RFC 9530), the digest the client expects' })),
  }),
  body: { content: { 'application/json': { schema: ClaimBody } } },
  /** Bodies the route reads as streams: in the document only, since Fastify validates parsed bodies. */
  streamedBody: {
    'multipart/form-data': {
      schema: Type.Object({
        filename: Type.Optional(described(FilenameField, "the file's name (else the part's own filename)")),
        sha256: Type.Optional(described(Sha256Field, 'hex SHA-256 the client expects (422 when it differs)')),
        file: described(BINARY, 'the content, after the text fields'),
      }),
    },
    'application/octet-stream': { schema: BINARY },
  },
  response: {
    201: described(UploadReply, 'Stored (or claimed)'),
    ...COMMON_ERRORS,
    ...CONTENT_DAMAGED,
    ...UNAUTHENTICATED,
    403: errorResponse(403, ['PROOF_INVALID', CROSS_SITE]),
    404: errorResponse(404, ['CONTENT_UNKNOWN']),
    ...JSON_BODY_ERRORS,
    422: errorResponse(422, ['DIGEST_MISMATCH']),
    ...PROOF_REQUIRED,
    429: errorResponse(429, ['RATE_LIMITED'], {}, RETRY_AFTER),
    507: errorResponse(507, ['INSUFFICIENT_STORAGE']),
  },
};

const remove = {
  tags,
  ...SECURED,
  summary: 'Delete a file',
  description:
    'Owner only. Name the file in the body (`{filename, owner?}`) or the query. Every friend loses access at ' +
    'once; the content leaves storage when no file references it.',
  querystring: FileQuery,
  body: DeleteBody,
  /** The route takes `?filename=` without a body as well (@fastify/swagger marks every body required). */
  'x-optional-body': true,
  response: {
    200: described(DeleteReply, 'Deleted'),
    ...COMMON_ERRORS,
    ...UNAUTHENTICATED,
    403: errorResponse(403, ['NOT_OWNER', CROSS_SITE]),
    404: errorResponse(404, ['FILE_NOT_FOUND']),
    ...conflict('AMBIGUOUS_FILENAME'),
    ...JSON_BODY_ERRORS,
  },
};

const verify = {
  tags,
  ...SECURED,
  summary: 'Re-hash the stored bytes of one file',
  description:
    'Reads the stored content of the file NAME means (resolved as for a download) and hashes it again. ' +
    '`damaged`: the bytes no longer match the recorded digest, and the content is quarantined (downloads and claims ' +
    'answer 503 CONTENT_DAMAGED) until a fresh upload of the same bytes heals it; `ok` lifts a quarantine. Anyone ' +
    'who can read the file may ask; VERIFY_LIMIT re-hashes per user per minute (then 429 with Retry-After).',
  body: VerifyBody,
  response: {
    200: described(VerifyReply, 'The outcome of the re-hash'),
    ...COMMON_ERRORS,
    ...UNAUTHENTICATED,
    403: errorResponse(403, [CROSS_SITE]),
    404: errorResponse(404, ['FILE_NOT_FOUND']),
    ...conflict('AMBIGUOUS_FILENAME'),
    ...JSON_BODY_ERRORS,
    429: errorResponse(429, ['RATE_LIMITED'], {}, RETRY_AFTER),
  },
};

export const fileRouteSchemas = { download, upload, delete: remove, verify };
