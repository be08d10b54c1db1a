import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export const MULTIPART_FIELDS_MAX = 8;
export const MULTIPART_FIELD_BYTES = 1024;

/**
 * Bodies the upload route reads as streams: multipart/form-data (one file part, a few small
 * fields) and raw application/octet-stream (handed over unread, without the JSON body limit).
 */
export const multipartPlugin = fp(async (app: FastifyInstance, { maxUploadBytes }: { maxUploadBytes: number }) => {
  await app.register(fastifyMultipart, {
    limits: {
      fileSize: maxUploadBytes,
      files: 1,
      fields: MULTIPART_FIELDS_MAX,
      fieldSize: MULTIPART_FIELD_BYTES,
      parts: MULTIPART_FIELDS_MAX + 1,
      headerPairs: 20,
    },
  });
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
});
