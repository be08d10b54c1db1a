import { Type, type Static, type TProperties, type TSchema } from '@sinclair/typebox';
import { Challenge } from './files.js';

/**
 * The pieces every route's OpenAPI description is made of: the error shape per status with the
 * codes it can carry there, the response headers API.md names, and how a route authenticates.
 * `headers` and `description` beside a response schema are @fastify/swagger's way of documenting
 * response headers; Fastify's serializer ignores them.
 */

/** A route that needs a token: `Authorization: Bearer`, or the `token` cookie. */
export const SECURED: { security: Array<Record<string, string[]>> } = { security: [{ bearer: [] }, { cookie: [] }] };

export const OPENAPI_TAGS = [
  { name: 'accounts', description: 'Register, log in and out (bearer token or cookie), and see your own usage.' },
  {
    name: 'files',
    description:
      'Your drive: upload (multipart, raw bytes, or a claim by digest with proof of possession), download with ranges and ETags, delete.',
  },
  { name: 'sharing', description: 'List the files you can read, share a file with friends, hand it over, revoke a friend.' },
  {
    name: 'uploads',
    description:
      'Resumable uploads (tus 1.0.0: creation, creation-with-upload, termination, expiration) for large files over unreliable links.',
  },
  { name: 'audit', description: 'The audit trail of your account and your files: shares, revocations, transfers, deletes, logins.' },
  { name: 'operations', description: 'Health of the server, for load balancers and monitoring.' },
];

/** `schema` with a description of its own (the schemas themselves are shared by several places). */
export const described = <T extends TSchema>(schema: T, description: string, headers?: Record<string, TSchema>) =>
  Type.Unsafe<Static<T>>({ ...schema, description, ...(headers ? { headers } : {}) });

export const header = (description: string, schema: TSchema = Type.String()) => described(schema, description);

export const RETRY_AFTER = { 'Retry-After': header('seconds to wait before trying again', Type.Integer({ minimum: 0 })) };

/** Headers of a download (200, 206) and of its 304. */
export const CONTENT_HEADERS = {
  ETag: header('"<sha256 hex>" of the content'),
  'Repr-Digest': header('sha-256=:<base64 of the digest>: (RFC 9530)'),
  'Accept-Ranges': header('bytes'),
  'Last-Modified': header('when the file was last written'),
};
export const BODY_HEADERS = {
  'Content-Length': header('bytes in this response', Type.Integer({ minimum: 0 })),
  'Content-Disposition': header('attachment; filename="<ASCII fallback>"; filename*=UTF-8\'\'<name>'),
  'X-Content-Type-Options': header('nosniff'),
  'Content-Security-Policy': header('sandbox'),
};

const DESCRIPTIONS: Record<number, string> = {
  400: 'The request is malformed or breaks a rule',
  401: 'Not authenticated, or wrong credentials',
  403: 'Refused for this caller',
  404: 'Not found, or not visible to the caller',
  409: 'Conflicts with what exists',
  412: 'The request lacks a precondition the route needs (Tus-Resumable)',
  413: 'The body is larger than allowed',
  415: 'A media type the route does not accept',
  416: 'The range starts at or beyond the end of the file',
  422: 'The content does not match the digest the client sent',
  428: 'The content is stored: answer the challenge to claim it',
  429: 'Too many attempts: wait Retry-After seconds',
  431: "Request headers too large, refused by the server's HTTP parser",
  500: 'An unexpected failure, logged on the server',
  503: 'The database, the storage or the password hashing queue cannot serve now, or the content is damaged',
  507: 'The storage is full, or the change would exceed the storage quota; nothing was stored',
};

/**
 * The error body at one status: Fastify's shape plus the stable `code`, limited to the codes
 * the route can answer there. Other fields (`owners`, `challenge`, `status`) are kept.
 */
export function errorResponse(status: number, codes: readonly string[], extra: TProperties = {}, headers?: Record<string, TSchema>) {
  return Type.Object(
    {
      statusCode: Type.Integer({ minimum: status, maximum: status }),
      code: Type.String({ enum: [...codes] }),
      error: Type.String({ description: 'the HTTP reason phrase' }),
      message: Type.String(),
      ...extra,
    },
    { additionalProperties: true, description: `${DESCRIPTIONS[status]}: ${codes.join(', ')}`, ...(headers ? { headers } : {}) },
  );
}

const OWNERS = {
  owners: Type.Optional(Type.Array(Type.String(), { description: 'AMBIGUOUS_FILENAME: the owners to choose from with owner=' })),
};

/** Errors any request can meet: the HTTP parser's, an unexpected failure, an outage. */
export const COMMON_ERRORS = {
  400: errorResponse(400, ['VALIDATION_FAILED']),
  431: errorResponse(431, ['HEADERS_TOO_LARGE']),
  500: errorResponse(500, ['INTERNAL_ERROR']),
  503: errorResponse(503, ['SERVICE_UNAVAILABLE'], {}, RETRY_AFTER),
};

/**
 * A route that serves or hands over stored content: 503 also when those bytes no longer match
 * their digest (CONTENT_DAMAGED, found by the scrub or a verify); nothing is served until a
 * fresh upload of the same bytes heals it.
 */
export const CONTENT_DAMAGED = {
  503: errorResponse(503, ['SERVICE_UNAVAILABLE', 'CONTENT_DAMAGED'], {}, RETRY_AFTER),
};

export const UNAUTHENTICATED = { 401: errorResponse(401, ['UNAUTHENTICATED']) };
/** A JSON body: at most 1 MiB, and JSON only. */
export const JSON_BODY_ERRORS = {
  413: errorResponse(413, ['PAYLOAD_TOO_LARGE']),
  415: errorResponse(415, ['UNSUPPORTED_MEDIA_TYPE']),
};
/** A write that the cookie authenticates is refused when it comes from another origin. */
export const CROSS_SITE = 'CROSS_SITE_REQUEST';

/** 409 AMBIGUOUS_FILENAME (and the route's other conflicts), with `owners`. */
export const conflict = (...codes: string[]) => ({ 409: errorResponse(409, codes, OWNERS) });

/** Bytes of any media type, as downloads serve them. */
export const binaryResponse = (description: string, headers: Record<string, TSchema>) => ({
  description,
  headers,
  content: { '*/*': { schema: { type: 'string', format: 'binary' } } },
});

export const PROOF_REQUIRED = {
  428: errorResponse(428, ['PROOF_REQUIRED'], { challenge: Challenge }),
};
