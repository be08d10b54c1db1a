import { Credentials, ROUTES, accountRouteSchemas } from '@cloudstore/shared';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { clearTokenCookie, setTokenCookie } from '../plugins/auth.js';
import type { AccountService } from '../services/accounts.js';

interface AccountRoutesOptions {
  config: Config;
  accounts: AccountService;
}

export async function accountRoutes(app: FastifyInstance, { config, accounts }: AccountRoutesOptions) {
  app.post<{ Body: Credentials }>(ROUTES.register, { schema: accountRouteSchemas.register }, async (request, reply) => {
    const result = await accounts.register(request.body.username, request.body.password, request.ip);
    return reply.code(201).send(result);
  });

  app.post<{ Body: Credentials }>(ROUTES.login, { schema: accountRouteSchemas.login }, async (request, reply) => {
    const { token, username, expiresIn } = await accounts.login(request.body.username, request.body.password, request.ip, app.tokenSigner);
    setTokenCookie(reply, token, config);
    return { token, token_type: 'Bearer' as const, expires_in: expiresIn, username };
  });

  app.post(ROUTES.logout, { onRequest: app.authenticate, schema: accountRouteSchemas.logout }, async (request, reply) => {
    await accounts.logout(request.session);
    clearTokenCookie(reply, config);
    return reply.code(204).send();
  });

  app.get(ROUTES.me, { onRequest: app.authenticate, schema: accountRouteSchemas.me }, async (request) => {
    const accounting = await accounts.accounting(request.session.userId);
    return { username: request.session.username, ...accounting };
  });
}
