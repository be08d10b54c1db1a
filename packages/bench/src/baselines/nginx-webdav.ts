import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '@cloudstore/test-helpers/shipped-nginx';
import { curlOnce, uploadArgs } from '../curl.js';
import { nginxBinary } from '../nginx.js';
import { runCommand, startServer, type ServerProcess } from '../subprocess.js';
import { checkedTransfer, type TransferSubject } from '../transfer-subject.js';

/**
 * nginx's WebDAV PUT (Debian's nginx-extras): the fastest way in that this machine has, and
 * it hashes nothing and never fsyncs. One worker, as our server and node-1m have one thread
 * on the request path.
 */

/** The nginx binary with the DAV module, or why there is none. */
export async function findNginx(): Promise<{ binary: string; version: string } | { missing: string }> {
  const binary = nginxBinary();
  if (!binary) return { missing: 'nginx is not installed (Debian: apt-get install nginx-extras)' };
  const version = await runCommand(binary, ['-V']);
  if (!version.stderr.includes('http_dav_module')) return { missing: `${binary} has no WebDAV module (install nginx-extras)` };
  return { binary, version: /nginx\/([\d.]+)/.exec(version.stderr)?.[1] ?? '?' };
}

export async function startNginx(
  binary: string,
  version: string,
  runDirectory: string,
): Promise<{ server: ServerProcess; subject: TransferSubject }> {
  const prefix = path.join(runDirectory, 'nginx');
  const root = path.join(prefix, 'root');
  await mkdir(path.join(root, 'files'), { recursive: true });
  const port = await freePort();
  const temporary = (name: string) => `${name}_temp_path ${path.join(prefix, `${name}-temp`)};`;
  // As root, nginx would hand its worker to 'nobody', who may not write in our directory.
  const user = process.getuid?.() === 0 ? 'user root root;' : '';
  const config = `
${user}
worker_processes 1;
daemon off;
pid ${path.join(prefix, 'nginx.pid')};
error_log ${path.join(prefix, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temporary).join('\n  ')}
  server {
    listen 127.0.0.1:${port};
    root ${root};
    client_max_body_size 0;
    location /files/ {
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw;
    }
  }
}
`;
  const configFile = path.join(prefix, 'nginx.conf');
  await writeFile(configFile, config);
  const server = await startServer({
    label: 'nginx',
    command: binary,
    args: ['-p', prefix, '-c', configFile, '-e', path.join(prefix, 'error.log')],
    logFile: path.join(runDirectory, 'nginx.log'),
    port,
  });
  const fileUrl = (name: string) => `${server.url}/files/${encodeURIComponent(name)}`;
  return {
    server,
    subject: {
      label: 'nginx WebDAV',
      role: 'baseline',
      // The master process: its worker does the work, so its CPU is not measured here.
      pid: null,
      note: `nginx ${version} dav_methods PUT, one worker: no hashing, no fsync; GET with sendfile`,
      async upload(file, name) {
        return checkedTransfer(await curlOnce([...uploadArgs(file.path, 'PUT'), fileUrl(name)]), 'up', file.size);
      },
      async download(name, output) {
        return curlOnce(['-o', output, fileUrl(name)]);
      },
      async remove(name) {
        const response = await fetch(fileUrl(name), { method: 'DELETE' });
        await response.arrayBuffer();
      },
    },
  };
}
