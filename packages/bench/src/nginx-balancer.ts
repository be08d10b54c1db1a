import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, renderShippedNginx } from '@cloudstore/test-helpers/shipped-nginx';
import { nginxBinary } from './nginx.js';
import { startServer } from './subprocess.js';

/**
 * Two instances behind the load balancer that docs/DEPLOY.md ships: docs/deploy/nginx.conf as it
 * is, round robin per request, but for its ports and paths and without TLS (the SDK baseline
 * speaks plain HTTP to s3rver, so TLS would be measured on one side only).
 */
export interface NginxBalancer {
  url: string;
  /** Requests each instance answered, in the order of the instances, from nginx's access log. */
  requests(): Promise<number[]>;
  close(): Promise<void>;
}

/** The balancer, or why it cannot run here. */
export async function startNginxBalancer(instances: [string, string], runDirectory: string): Promise<NginxBalancer | { missing: string }> {
  const binary = nginxBinary();
  if (!binary) return { missing: 'nginx is not installed (Debian: apt-get install nginx-light)' };
  // As root, nginx's workers run as www-data (as shipped), who must reach the prefix: not inside
  // the run directory, which only its owner may enter.
  const prefix = await mkdtemp(path.join(tmpdir(), 'cloudstore-bench-nginx-'));
  await chmod(prefix, 0o755);
  const upstreams = instances.map((instance) => Number(new URL(instance).port)) as [number, number];
  const port = await freePort();
  const configFile = path.join(prefix, 'nginx.conf');
  await writeFile(configFile, await renderShippedNginx({ prefix, upstreams, redirectPort: await freePort(), port, tls: null }));
  const server = await startServer({
    label: 'nginx (round robin)',
    command: binary,
    args: ['-p', prefix, '-c', configFile, '-e', path.join(prefix, 'error.log'), '-g', 'daemon off;'],
    logFile: path.join(runDirectory, 'nginx-balancer.log'),
    port,
  });
  return {
    url: server.url,
    async requests() {
      const log = await readFile(path.join(prefix, 'cloudstore.log'), 'utf8');
      return upstreams.map((upstream) => log.split(`upstream=127.0.0.1:${upstream} `).length - 1);
    },
    async close() {
      await server.stop();
      await rm(prefix, { recursive: true, force: true });
    },
  };
}
