import { ROUTES, healthRouteSchemas } from '@cloudstore/shared';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';
import type { HealthService } from '../services/health.js';

export async function healthRoutes(app: FastifyInstance, { health }: { health: HealthService }) {
  app.get(ROUTES.health, { schema: healthRouteSchemas.health }, async () => {
    const problem = await health.problem();
    if (problem) throw new AppError('SERVICE_UNAVAILABLE', problem, { status: 'unavailable' });
    return { status: 'ok' };
  });
}
