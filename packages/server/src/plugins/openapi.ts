import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { OPENAPI_TAGS } from '@cloudstore/shared';
import type { FastifyInstance, FastifySchema } from 'fastify';
import fp from 'fastify-plugin';

/**
 * A route schema may document bodies that Fastify must not validate: the upload route reads
 * multipart and raw bodies as streams, which no JSON schema describes at validation time. The
 * document lists them beside the validated ones.
 */
function withStreamedBodies(schema: FastifySchema | undefined): FastifySchema | undefined {
  const { streamedBody, ...rest } = (schema ?? {}) as FastifySchema & { streamedBody?: Record<string, unknown> };
  if (!schema || !streamedBody) return schema;
  const body = (rest.body ?? { content: {} }) as { content: Record<string, unknown> };
  return { ...rest, body: { ...body, content: { ...streamedBody, ...body.content } } };
}

const OPTIONAL_BODY = 'x-optional-body';

/** Honours a route schema's `x-optional-body`, which @fastify/swagger copies onto the operation. */
type Operation = { [OPTIONAL_BODY]?: boolean; requestBody?: { required?: boolean } };

function withOptionalBodies<T extends { paths?: object }>(document: T): T {
  for (const operations of Object.values(document.paths ?? {}) as Array<Record<string, Operation>>) {
    for (const operation of Object.values(operations)) {
      if (!operation[OPTIONAL_BODY]) continue;
      delete operation[OPTIONAL_BODY];
      if (operation.requestBody) operation.requestBody.required = false;
    }
  }
  return document;
}

/** The OpenAPI document at /docs/json, generated from the route schemas, and a page at /docs. */
export const openapiPlugin = fp(async (app: FastifyInstance) => {
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'CloudStore',
        description:
          'Content-addressed file storage with sharing. Every error is JSON with `statusCode`, `code` (stable), ' +
          '`error` and `message`. Authenticate with `Authorization: Bearer <token>` or the `token` cookie from /login.',
        version: '0.1.0',
      },
      tags: OPENAPI_TAGS,
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          cookie: { type: 'apiKey', in: 'cookie', name: 'token' },
        },
      },
    },
    transform: ({ schema, url }) => ({ schema: withStreamedBodies(schema) as FastifySchema, url }),
    transformObject: (documents) => withOptionalBodies('openapiObject' in documents ? documents.openapiObject : documents.swaggerObject),
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
});
