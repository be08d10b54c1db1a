import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startNginxBalancer } from '../src/nginx-balancer.js';
import { nginxBinary } from '../src/nginx.js';

interface Instance {
  server: Server;
  url: string;
  /** Requests it answered. */
  answered: number;
}

/** A server that answers with its own name and the length of the body it was sent. */
async function named(name: string): Promise<Instance> {
  const instance: Instance = { server: createServer(), url: '', answered: 0 };
  instance.server.on('request', async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    instance.answered++;
    response.end(`${name}:${Buffer.concat(chunks).length}`);
  });
  instance.server.listen(0, '127.0.0.1');
  await once(instance.server, 'listening');
  instance.url = `http://127.0.0.1:${(instance.server.address() as AddressInfo).port}`;
  return instance;
}

t.test(
  'the bench balancer: docs/deploy/nginx.conf alternates requests and counts them per instance',
  { skip: nginxBinary() ? false : 'nginx is not installed' },
  async (t) => {
    const runDirectory = await mkdtemp(path.join(tmpdir(), 'cloudstore-bench-test-'));
    t.teardown(() => rm(runDirectory, { recursive: true, force: true }));
    const instances = [await named('a'), await named('b')];
    t.teardown(() =>
      instances.forEach(({ server }) => {
        server.close();
        server.closeAllConnections();
      }),
    );
    const balancer = await startNginxBalancer([instances[0].url, instances[1].url], runDirectory);
    if ('missing' in balancer) throw new Error(balancer.missing);
    t.teardown(() => balancer.close());
    const answers: string[] = [];
    // nginx's workers (as many as cores) keep a turn each: over 8 requests, each instance gets some.
    for (let i = 0; i < 8; i++) {
      // A 1 MiB body, so that it crosses nginx's 128 KiB buffer several times on its way.
      const response = await fetch(`${balancer.url}/echo`, { method: 'POST', body: Buffer.alloc(1024 * 1024, i) });
      answers.push(await response.text());
    }
    t.same(new Set(answers), new Set(['a:1048576', 'b:1048576']), 'both instances answered, with every byte of each body');
    // nginx writes its access log line as each request ends.
    t.same(await balancer.requests(), [instances[0].answered, instances[1].answered], 'the access log counts what each instance answered');
  },
);
