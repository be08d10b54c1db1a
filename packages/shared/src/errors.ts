/** Every stable error code of the API (API.md, "Errors") and the HTTP status it travels with. */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  NOT_OWNER: 403,
  PROOF_INVALID: 403,
  CROSS_SITE_REQUEST: 403,
  REGISTRATION_CLOSED: 403,
  FILE_NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  NOT_SHARED: 404,
  CONTENT_UNKNOWN: 404,
  ROUTE_NOT_FOUND: 404,
  USERNAME_TAKEN: 409,
  NAME_TAKEN: 409,
  AMBIGUOUS_FILENAME: 409,
  UPLOAD_OFFSET_MISMATCH: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  DIGEST_MISMATCH: 422,
  PROOF_REQUIRED: 428,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
  CONTENT_DAMAGED: 503,
  INSUFFICIENT_STORAGE: 507,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export const REASON_PHRASE: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Entity',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
};

/** The JSON body of every error response. */
export interface ErrorBody {
  statusCode: number;
  code: ErrorCode;
  error: string;
  message: string;
  [extra: string]: unknown;
}
