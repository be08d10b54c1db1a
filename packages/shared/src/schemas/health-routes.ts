import { Type } from '@sinclair/typebox';
import { HealthReply } from './auth.js';
import { COMMON_ERRORS, RETRY_AFTER, described, errorResponse } from './responses.js';

const health = {
  tags: ['operations'],
  summary: 'Health',
  description: '200 when the database and the storage answer, else 503 with `status: "unavailable"`.',
  response: {
    200: described(HealthReply, 'The database and the storage answer'),
    ...COMMON_ERRORS,
    // Optional: a 503 while the server closes comes from Fastify, without it.
    503: errorResponse(503, ['SERVICE_UNAVAILABLE'], { status: Type.Optional(Type.Literal('unavailable')) }, RETRY_AFTER),
  },
};

export const healthRouteSchemas = { health };
