import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** The OpenAPI document at /docs/json, generated from the route schemas, and a page at /docs. */
export const openapiPlugin = fp(async (app: FastifyInstance) => {
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'CloudStore',
        description: 'Content-addressed file storage with sharing. Errors carry a stable `code`.',
        version: '0.1.0',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          cookie: { type: 'apiKey', in: 'cookie', name: 'token' },
        },
      },
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
});

/** Schema fragment for routes that need a token (cookie or bearer). */
export const SECURED: { security: Array<Record<string, string[]>> } = { security: [{ bearer: [] }, { cookie: [] }] };
