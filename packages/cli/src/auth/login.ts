import { ROUTES } from '@cloudstore/shared/routes';
import type { LoginReply } from '@cloudstore/shared';
import { ApiClient } from '../api/client.js';
import type { Context, GlobalOptions } from '../context.js';
import { usageError } from '../errors.js';
import { CredentialStore } from './credentials.js';
import { askPassword, askUsername } from './prompt.js';
import { resolveServer } from './session.js';

/** `register` and `login`: a username argument, and where the password comes from. */
export interface CredentialOptions extends GlobalOptions {
  username?: string;
  passwordStdin: boolean;
}

export interface Credentials {
  origin: string;
  username: string;
  password: string;
}

/**
 * The server, the username and the password, asked for where not given. A new password typed
 * blind is asked twice (`confirm`): a typo would lock the user out of the account just made.
 */
export async function askCredentials(options: CredentialOptions, context: Context, confirm: boolean): Promise<Credentials> {
  const origin = await resolveServer(options, context);
  const username = await askUsername(options.username, context);
  const password = await askPassword(options.passwordStdin, 'Password: ', context);
  if (confirm && !options.passwordStdin && (await askPassword(false, 'Repeat the password: ', context)) !== password) {
    throw usageError('the two passwords differ');
  }
  return { origin, username, password };
}

/** Logs in and saves the session for its origin: in the keychain, else in the 0600 file, with a notice. */
export async function logIn({ origin, username, password }: Credentials, context: Context): Promise<LoginReply> {
  const { body } = await new ApiClient(origin).call<LoginReply>('POST', ROUTES.login, { json: { username, password } });
  const savedIn = await new CredentialStore(context.configDir).save(origin, { username: body.username, token: body.token });
  if (!savedIn.keychain) context.output.notice(`no system keychain: the session is saved in ${savedIn.file} (mode 0600)`);
  return body;
}
