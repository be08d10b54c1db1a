import { ROUTES } from '@cloudstore/shared/routes';
import type { RegisterReply } from '@cloudstore/shared';
import { ApiClient } from '../api/client.js';
import { askCredentials, logIn, type CredentialOptions } from '../auth/login.js';
import type { Context } from '../context.js';

export type RegisterOptions = CredentialOptions;

export async function run(options: RegisterOptions, context: Context): Promise<void> {
  const credentials = await askCredentials(options, context, true);
  const { origin, username, password } = credentials;
  const { body } = await new ApiClient(origin).call<RegisterReply>('POST', ROUTES.register, { json: { username, password } });
  await logIn({ ...credentials, username: body.username }, context);
  context.output.result(`registered ${body.username} on ${origin}, and logged in`, { username: body.username, server: origin });
}
