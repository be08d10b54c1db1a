import { ApiClient } from '../api/client.js';
import type { Context, GlobalOptions } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { CredentialStore } from './credentials.js';
import { DEFAULT_SERVER, toOrigin } from './origin.js';

/** `--server`, else CLOUDSTORE_SERVER, else the server of the last login, else the default. */
export async function resolveServer(options: GlobalOptions, context: Context): Promise<string> {
  const chosen = options.server ?? context.env.CLOUDSTORE_SERVER;
  if (chosen) return toOrigin(chosen);
  return (await new CredentialStore(context.configDir).lastServer()) ?? DEFAULT_SERVER;
}

/** A client for the chosen server that sends CLOUDSTORE_TOKEN, else the session saved for it. */
export async function authenticatedClient(options: GlobalOptions, context: Context): Promise<ApiClient> {
  const origin = await resolveServer(options, context);
  if (context.env.CLOUDSTORE_TOKEN) return new ApiClient(origin, context.env.CLOUDSTORE_TOKEN, 'environment');
  const token = (await new CredentialStore(context.configDir).load(origin))?.token;
  if (!token) {
    throw new CliError('NOT_LOGGED_IN', `not logged in to ${origin}: run 'cloudstore login' first`, EXIT.unauthenticated);
  }
  return new ApiClient(origin, token, 'saved session');
}
