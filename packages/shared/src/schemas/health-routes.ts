import { Type } from '@sinclair/typebox';
import { HealthReply } from './auth.js';
import { COMMON_ERRORS, described, errorResponse } from './responses.js';

const health = {
  tags: ['operations'],
  summary: 'Health',
  description: '200 when the database and the storage answer, else 503 with `status: "unavailable"`.',
  response: {
    200: described(HealthReply, 'The database and the storage answer'),
    ...COMMON_ERRORS,
    503: errorResponse(503, ['SERVICE_UNAVAILABLE'], { status: Type.Literal('unavailable') }),
  },
};

export const healthRouteSchemas = { health };
