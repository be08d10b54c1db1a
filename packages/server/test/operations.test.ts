import { once } from 'node:events';
import net from 'node:net';
import { MYSQL_SERVER_URL, createTestDatabase } from '@cloudstore/test-helpers';
import t from 'tap';
import { Client } from './helpers/client.js';
import { exchangeRaw, parseRawResponse } from './helpers/raw-http.js';
import { buildApp } from '../src/app.js';
import { forEachDatabase, startServer, testConfig } from './helpers/build-app.js';

forEachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind);
  const client = new Client(server.url);

  t.test('health answers when the database and the storage do', async (t) => {
    const reply = await client.call('GET', '/health');
    t.equal(reply.status, 200);
    t.same(reply.body, { status: 'ok' });
  });

  t.test('the OpenAPI document lists every route, and /docs is a page', async (t) => {
    const reply = await client.call('GET', '/docs/json');
    t.equal(reply.status, 200);
    for (const route of ['/register', '/login', '/logout', '/me', '/health']) t.ok(reply.body.paths[route], route);
    const page = await client.call('GET', '/docs');
    t.ok(page.status === 200 || page.status === 302, `/docs answers ${page.status}`);
  });

  t.test('GET / is a small page naming the service, with links to /docs and /health', async (t) => {
    const reply = await fetch(`${server.url}/`);
    t.equal(reply.status, 200);
    t.match(reply.headers.get('content-type'), /^text\/html/);
    const page = await reply.text();
    t.match(page, /CloudStore \d+\.\d+\.\d+/);
    t.match(page, /href="\/docs"/);
    t.match(page, /href="\/health"/);
  });

  t.test('unknown routes and methods answer the error shape', async (t) => {
    for (const [method, path] of [
      ['GET', '/nowhere'],
      ['DELETE', '/login'],
      ['PATCH', '/me'],
    ]) {
      const reply = await client.call(method, path);
      t.equal(reply.status, 404);
      t.same(Object.keys(reply.body).sort(), ['code', 'error', 'message', 'statusCode']);
      t.equal(reply.body.code, 'ROUTE_NOT_FOUND');
      t.equal(reply.body.error, 'Not Found');
    }
  });

  t.test("what Node's HTTP parser refuses is answered in the error shape, with a code", async (t) => {
    const longUrl = parseRawResponse(
      await exchangeRaw(server.url, `GET /health?pad=${'x'.repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\n\r\n`),
    );
    t.equal(longUrl.status, 431, 'a 20 KB URL');
    t.same(Object.keys(longUrl.body).sort(), ['code', 'error', 'message', 'statusCode']);
    t.same([longUrl.body.statusCode, longUrl.body.code, longUrl.body.error], [431, 'HEADERS_TOO_LARGE', 'Request Header Fields Too Large']);
    for (const malformed of [
      'GET /health HTTP/1.1\r\nHost localhost\r\n\r\n',
      'GET\x01 / HTTP/1.1\r\n\r\n',
      'POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n',
    ]) {
      const reply = parseRawResponse(await exchangeRaw(server.url, malformed));
      t.same([reply.status, reply.body.code], [400, 'VALIDATION_FAILED'], JSON.stringify(malformed));
    }
    t.equal((await client.call('GET', '/health')).status, 200, 'and the server goes on serving');
  });

  t.test('JSON bodies are at most 1 MiB', async (t) => {
    const reply = await client.call('POST', '/login', { json: { username: 'x', password: 'y'.repeat(1024 * 1024) } });
    t.equal(reply.status, 413);
    t.equal(reply.body.code, 'PAYLOAD_TOO_LARGE');
  });
});

/** A loopback TCP proxy to MariaDB that a test can cut and restore, to make an outage. */
async function startProxy(target: URL, port = 0) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 3306), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

t.test('a database outage is 503, and the server recovers by itself', async (t) => {
  const database = await createTestDatabase(t, 'mysql');
  const real = new URL(database.databaseUrl!);
  let proxy = await startProxy(new URL(MYSQL_SERVER_URL));
  const port = proxy.port;
  const throughProxy = `mysql://${real.username}@127.0.0.1:${port}${real.pathname}`;
  const app = await buildApp(testConfig({ dataDir: database.dataDir, databaseUrl: throughProxy }));
  t.teardown(() => app.close());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const client = new Client(`http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}`);
  const token = await client.user('outage-user', 'outage password');

  await proxy.close();
  const down = await client.call('GET', '/me', { token });
  t.equal(down.status, 503);
  t.equal(down.body.code, 'SERVICE_UNAVAILABLE');
  t.notMatch(JSON.stringify(down.body), /ECONNREFUSED|127\.0\.0\.1|select/i, 'no driver details leak');
  const health = await client.call('GET', '/health');
  t.equal(health.status, 503);
  t.equal(health.body.status, 'unavailable');
  t.equal(health.body.code, 'SERVICE_UNAVAILABLE');

  proxy = await startProxy(new URL(MYSQL_SERVER_URL), port);
  t.teardown(() => proxy.close());
  let recovered = 0;
  for (let attempt = 0; attempt < 20 && recovered !== 200; attempt++) {
    recovered = (await client.call('GET', '/me', { token })).status;
    if (recovered !== 200) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  t.equal(recovered, 200, 'the same token works again once the database is back');
});
