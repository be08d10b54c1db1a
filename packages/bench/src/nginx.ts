import { existsSync } from 'node:fs';

/** Where nginx is on this machine, if anywhere. */

const CANDIDATES = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'];

export function nginxBinary(): string | null {
  return CANDIDATES.find((candidate) => existsSync(candidate)) ?? null;
}
