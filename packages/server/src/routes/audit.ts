import { AuditQuery, LIST_LIMIT_DEFAULT, ROUTES, auditRouteSchemas } from '@cloudstore/shared';
import type { FastifyInstance } from 'fastify';
import type { AuditService } from '../services/audit.js';

export async function auditRoutes(app: FastifyInstance, { audit }: { audit: AuditService }) {
  app.get<{ Querystring: AuditQuery }>(ROUTES.audit, { onRequest: app.authenticate, schema: auditRouteSchemas.list }, async (request) => {
    const limit = request.query.limit === undefined ? LIST_LIMIT_DEFAULT : Number(request.query.limit);
    return audit.list(request.session, limit, request.query.cursor);
  });
}
