import { ROUTES } from '@cloudstore/shared/routes';
import { ApiClient } from '../api/client.js';
import { CredentialStore } from '../auth/credentials.js';
import { resolveServer } from '../auth/session.js';
import type { Context, GlobalOptions } from '../context.js';
import { toCliError } from '../errors.js';

export type LogoutOptions = GlobalOptions;

/**
 * Ends the session on the server, then forgets it here even if the server could not be told:
 * a user who logs out must be logged out of this machine (CLI.md: exit 0, with a notice).
 */
export async function run(options: LogoutOptions, context: Context): Promise<void> {
  const origin = await resolveServer(options, context);
  const store = new CredentialStore(context.configDir);
  const saved = await store.load(origin);
  const token = context.env.CLOUDSTORE_TOKEN || saved?.token;
  if (!token) {
    await store.forget(origin);
    context.output.notice(`not logged in to ${origin}: nothing to do`);
    return;
  }
  try {
    await new ApiClient(origin, token, context.env.CLOUDSTORE_TOKEN ? 'environment' : 'saved session').call('POST', ROUTES.logout);
  } catch (error) {
    context.output.notice(`the server could not end the session (${toCliError(error).message}); forgetting it here anyway`);
  }
  await store.forget(origin);
  context.output.result(`logged out of ${origin}`, { server: origin, username: saved?.username ?? null });
}
