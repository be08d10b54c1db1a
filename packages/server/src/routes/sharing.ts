import { FriendsParams, LIST_LIMIT_DEFAULT, ListQuery, OwnerQuery, PermitBody, ROUTES, sharingRouteSchemas } from '@cloudstore/shared';
import type { FastifyInstance } from 'fastify';
import type { SharingService } from '../services/sharing.js';

export async function sharingRoutes(app: FastifyInstance, { sharing }: { sharing: SharingService }) {
  app.get<{ Querystring: ListQuery }>(
    ROUTES.drivePermit,
    {
      onRequest: app.authenticate,
      schema: sharingRouteSchemas.list,
    },
    async (request) => {
      const limit = request.query.limit === undefined ? LIST_LIMIT_DEFAULT : Number(request.query.limit);
      return sharing.list(request.session, limit, request.query.cursor);
    },
  );

  app.post<{ Body: PermitBody }>(
    ROUTES.drivePermit,
    {
      onRequest: app.authenticate,
      schema: sharingRouteSchemas.share,
    },
    async (request, reply) => {
      const { reply: shared, created } = await sharing.share(request.session, request.body);
      return reply.code(created ? 201 : 200).send(shared);
    },
  );

  app.put<{ Body: PermitBody }>(
    ROUTES.drivePermit,
    {
      onRequest: app.authenticate,
      schema: sharingRouteSchemas.transfer,
    },
    async (request) => sharing.transfer(request.session, request.body),
  );

  app.delete<{ Body: PermitBody }>(
    ROUTES.drivePermit,
    {
      onRequest: app.authenticate,
      schema: sharingRouteSchemas.revoke,
    },
    async (request) => sharing.revoke(request.session, request.body),
  );

  app.get<{ Params: FriendsParams; Querystring: OwnerQuery }>(
    `${ROUTES.driveShare}:filename/`,
    {
      onRequest: app.authenticate,
      schema: sharingRouteSchemas.friends,
    },
    async (request) => sharing.friends(request.session, request.params.filename, request.query.owner),
  );
}
