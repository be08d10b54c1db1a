import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nginx configuration that docs/DEPLOY.md ships. */
export const SHIPPED_NGINX_CONF = fileURLToPath(new URL('../../../../docs/deploy/nginx.conf', import.meta.url));

/** nginx's temporary folders, each put under the prefix. */
export const NGINX_TEMPORARY_KINDS = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'];

export interface ShippedNginxPlaces {
  /** The folder for nginx's pid, logs and temporary folders. */
  prefix: string;
  /** The instances' ports on 127.0.0.1, in place of the two in `upstream cloudstore`. */
  upstreams: [number, number];
  /** Where the port-80 server (the redirect to HTTPS) listens. */
  redirectPort: number;
  /** Where the main server listens. */
  port: number;
  /**
   * The certificate and key, or null for plain HTTP on `port`: what the bench uses, so that the
   * comparison with a baseline that speaks plain HTTP measures the relay and not TLS.
   */
  tls: { cert: string; key: string } | null;
}

/** A port on 127.0.0.1 that nothing listens on now, for nginx to take. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** `text` with each `from` replaced; each must occur exactly once, so an edit of the shipped file that this misses fails here. */
function render(text: string, replacements: [string, string][]): string {
  let rendered = text;
  for (const [from, to] of replacements) {
    const count = rendered.split(from).length - 1;
    if (count !== 1) throw new Error(`docs/deploy/nginx.conf: expected '${from}' once, found it ${count} times`);
    rendered = rendered.replace(from, () => to);
  }
  return rendered;
}

/** The shipped configuration, run as it is but for its ports and paths (and, with `tls: null`, its TLS). */
export async function renderShippedNginx(places: ShippedNginxPlaces): Promise<string> {
  const at = (name: string) => path.join(places.prefix, name);
  const temporaryPaths = NGINX_TEMPORARY_KINDS.map((kind) => `\n    ${kind}_temp_path ${at(`${kind}-temp`)};`).join('');
  const { tls } = places;
  return render(await readFile(SHIPPED_NGINX_CONF, 'utf8'), [
    ['pid /run/nginx.pid;', `pid ${at('nginx.pid')};`],
    ['/var/log/nginx/error.log', at('error.log')],
    ['/var/log/nginx/cloudstore.log', at('cloudstore.log')],
    ['\nhttp {', `\nhttp {${temporaryPaths}`],
    ['server 10.0.0.11:3000;', `server 127.0.0.1:${places.upstreams[0]};`],
    ['server 10.0.0.12:3000;', `server 127.0.0.1:${places.upstreams[1]};`],
    ['listen 80;', `listen 127.0.0.1:${places.redirectPort};`],
    ['listen 443 ssl;', `listen 127.0.0.1:${places.port}${tls ? ' ssl' : ''};`],
    ['ssl_certificate /etc/letsencrypt/live/files.example.org/fullchain.pem;', tls ? `ssl_certificate ${tls.cert};` : ''],
    ['ssl_certificate_key /etc/letsencrypt/live/files.example.org/privkey.pem;', tls ? `ssl_certificate_key ${tls.key};` : ''],
  ]);
}
