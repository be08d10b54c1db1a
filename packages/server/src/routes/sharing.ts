import {
  ErrorSchema,
  FriendsParams,
  FriendsReply,
  LIST_LIMIT_DEFAULT,
  ListQuery,
  ListReply,
  OwnerQuery,
  PermitBody,
  RevokeReply,
  ROUTES,
  ShareReply,
  TransferReply,
} from '@cloudstore/shared';
import type { FastifyInstance } from 'fastify';
import { SECURED } from '../plugins/openapi.js';
import type { SharingService } from '../services/sharing.js';

const tags = ['sharing'];

/** Answers of a route that names a file, besides its success (API.md, "Sharing", "Errors"). */
const FILE_ERRORS = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema };

export async function sharingRoutes(app: FastifyInstance, { sharing }: { sharing: SharingService }) {
  app.get<{ Querystring: ListQuery }>(
    ROUTES.drivePermit,
    {
      onRequest: app.authenticate,
      schema: {
        tags,
        ...SECURED,
        description: 'Every file the caller owns or is a friend of, by filename (bytes) then owner, a page at a time.',
        querystring: ListQuery,
        response: { 200: ListReply, 400: ErrorSchema, 401: ErrorSchema },
      },
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
      schema: {
        tags,
        ...SECURED,
        description: 'The owner shares a file with a friend (201; 200 when they were a friend already).',
        body: PermitBody,
        response: { 200: ShareReply, 201: ShareReply, ...FILE_ERRORS },
      },
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
      schema: {
        tags,
        ...SECURED,
        description: 'The owner hands the file over to another user; the previous owner and every friend stay friends.',
        body: PermitBody,
        response: { 200: TransferReply, ...FILE_ERRORS },
      },
    },
    async (request) => sharing.transfer(request.session, request.body),
  );

  app.delete<{ Body: PermitBody }>(
    ROUTES.drivePermit,
    {
      onRequest: app.authenticate,
      schema: {
        tags,
        ...SECURED,
        description: 'The owner removes a friend, or a friend removes themself.',
        body: PermitBody,
        response: { 200: RevokeReply, ...FILE_ERRORS },
      },
    },
    async (request) => sharing.revoke(request.session, request.body),
  );

  app.get<{ Params: FriendsParams; Querystring: OwnerQuery }>(
    `${ROUTES.driveShare}:filename/`,
    {
      onRequest: app.authenticate,
      schema: {
        tags,
        ...SECURED,
        description: "The owner's list of a file's friends, with the time each was added.",
        params: FriendsParams,
        querystring: OwnerQuery,
        response: { 200: FriendsReply, ...FILE_ERRORS },
      },
    },
    async (request) => sharing.friends(request.session, request.params.filename, request.query.owner),
  );
}
