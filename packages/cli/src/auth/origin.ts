import { usageError } from '../errors.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:3000';

/**
 * A server URL as the key sessions are saved under (CLI.md): scheme, host and port, lower
 * case, default port and path dropped. `localhost` and `127.0.0.1` stay distinct on purpose:
 * they may be different servers, and a token must never travel to a host it was not issued by.
 */
export function toOrigin(server: string): string {
  const written = server.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(written) ? written : `http://${written}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw usageError(`'${server}' is not a server URL (for example ${DEFAULT_SERVER})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(`'${server}' is not an http:// or https:// URL`);
  }
  if (url.username || url.password) {
    throw usageError(`'${server}' must not carry a user name or password: use 'cloudstore login'`);
  }
  return url.origin;
}
