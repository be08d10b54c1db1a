import { ERROR_STATUS, type ErrorCode } from '@cloudstore/shared';
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../errors.js';
import { translateDatabaseError } from '../repositories/db-errors.js';

/** Fastify's and its plugins' own error codes, as API.md codes. */
const FRAMEWORK_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_REQ_FILE_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_PARTS_LIMIT: 'VALIDATION_FAILED',
  FST_FILES_LIMIT: 'VALIDATION_FAILED',
  FST_FIELDS_LIMIT: 'VALIDATION_FAILED',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_JSON_BODY: 'VALIDATION_FAILED',
  ENOSPC: 'INSUFFICIENT_STORAGE',
  EDQUOT: 'INSUFFICIENT_STORAGE',
  // The database's disk (SQLite lives in DATA_DIR), or a MySQL table, is full.
  SQLITE_FULL: 'INSUFFICIENT_STORAGE',
  ER_RECORD_FILE_FULL: 'INSUFFICIENT_STORAGE',
};

/** Turns any error into API.md's error shape with a stable code. Nothing internal leaks out. */
export function toAppError(error: FastifyError | Error): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    return new AppError('VALIDATION_FAILED', `${fastifyError.validationContext ?? 'request'} ${firstValidationMessage(fastifyError)}`);
  }
  const known = fastifyError.code ? FRAMEWORK_CODES[fastifyError.code] : undefined;
  if (known === 'INSUFFICIENT_STORAGE') return new AppError(known, 'the server is out of storage space');
  if (known) return new AppError(known, fastifyError.message);
  const database = translateDatabaseError(error);
  if (database) return database;
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500) {
    const code = (Object.keys(ERROR_STATUS) as ErrorCode[]).find((candidate) => ERROR_STATUS[candidate] === status);
    if (code) return new AppError(code, fastifyError.message);
    return new AppError('VALIDATION_FAILED', fastifyError.message);
  }
  return new AppError('INTERNAL_ERROR', 'an unexpected error occurred; it has been logged');
}

function firstValidationMessage(error: FastifyError): string {
  const first = error.validation?.[0];
  if (!first) return 'is invalid';
  const where = first.instancePath ? first.instancePath.replace(/^\//, '').replaceAll('/', '.') : '';
  return where ? `field '${where}' ${first.message ?? 'is invalid'}` : (first.message ?? 'is invalid');
}

export const errorHandlerPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const appError = toAppError(error);
    if (appError.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: appError.code }, appError.message);
    // Refused mid-body (413, 507, a bad digest header): the rest of the body will never be read,
    // so the connection cannot carry another request; closing it frees the client at once.
    if (!request.raw.complete) reply.header('connection', 'close');
    reply.headers(appError.headers).code(appError.statusCode).type('application/json').send(appError.body());
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new AppError('ROUTE_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`);
    reply.code(404).type('application/json').send(error.body());
  });
});
