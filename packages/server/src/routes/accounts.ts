import { Credentials, LoginReply, MeReply, RegisterReply, ROUTES } from '@cloudstore/shared';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { clearTokenCookie, setTokenCookie } from '../plugins/auth.js';
import { SECURED } from '../plugins/openapi.js';
import type { AccountService } from '../services/accounts.js';

interface AccountRoutesOptions {
  config: Config;
  accounts: AccountService;
}

export async function accountRoutes(app: FastifyInstance, { config, accounts }: AccountRoutesOptions) {
  app.post<{ Body: Credentials }>(
    ROUTES.register,
    { schema: { tags: ['accounts'], body: Credentials, response: { 201: RegisterReply } } },
    async (request, reply) => {
      const result = await accounts.register(request.body.username, request.body.password, request.ip);
      return reply.code(201).send(result);
    },
  );

  app.post<{ Body: Credentials }>(
    ROUTES.login,
    { schema: { tags: ['accounts'], body: Credentials, response: { 200: LoginReply } } },
    async (request, reply) => {
      const { token, username, expiresIn } = await accounts.login(
        request.body.username,
        request.body.password,
        request.ip,
        app.tokenSigner,
      );
      setTokenCookie(reply, token, config);
      return { token, token_type: 'Bearer' as const, expires_in: expiresIn, username };
    },
  );

  app.post(
    ROUTES.logout,
    { onRequest: app.authenticate, schema: { tags: ['accounts'], ...SECURED, response: { 204: { type: 'null' } } } },
    async (request, reply) => {
      await accounts.logout(request.session);
      clearTokenCookie(reply, config);
      return reply.code(204).send();
    },
  );

  app.get(
    ROUTES.me,
    { onRequest: app.authenticate, schema: { tags: ['accounts'], ...SECURED, response: { 200: MeReply } } },
    async (request) => {
      const usage = await accounts.usage(request.session.userId);
      return { username: request.session.username, ...usage };
    },
  );
}
