import { askCredentials, logIn, type CredentialOptions } from '../auth/login.js';
import type { Context } from '../context.js';

export type LoginOptions = CredentialOptions;

export async function run(options: LoginOptions, context: Context): Promise<void> {
  const credentials = await askCredentials(options, context, false);
  const reply = await logIn(credentials, context);
  context.output.result(`logged in to ${credentials.origin} as ${reply.username}`, {
    username: reply.username,
    server: credentials.origin,
    expires_in: reply.expires_in,
  });
}
