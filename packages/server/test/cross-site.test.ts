import { ROUTES } from '@cloudstore/shared';
import t from 'tap';
import { Client } from './helpers/client.js';
import { forEachDatabase, startServer } from './helpers/build-app.js';
import { multipartBody } from './helpers/multipart.js';
import { Drive } from './helpers/drive.js';

forEachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind);
  const client = new Client(server.url);
  const drive = await Drive.register(client, 'browser-user');
  const ownOrigin = server.url;
  const host = new URL(server.url).host;

  const cookieUpload = (filename: string, headers: Record<string, string>, via: 'cookie' | 'bearer' = 'cookie') => {
    const { body, contentType } = multipartBody([
      { name: 'filename', value: filename },
      { name: 'file', filename: 'blob', content: Buffer.from(`content of ${filename}`) },
    ]);
    const auth: Record<string, string> = via === 'cookie' ? { cookie: `token=${drive.token}` } : { authorization: `Bearer ${drive.token}` };
    return client.call('POST', ROUTES.myDrive, { body, headers: { 'content-type': contentType, ...auth, ...headers } });
  };
  const isStored = async (filename: string) => (await drive.download(filename)).status === 200;

  const refusals: Record<string, Record<string, string>> = {
    'another origin': { origin: 'http://evil.example' },
    'the same host on another port': { origin: `http://127.0.0.1:${Number(new URL(server.url).port) + 1}` },
    'Origin: null': { origin: 'null' },
    'Sec-Fetch-Site: same-site': { 'sec-fetch-site': 'same-site' },
    'Sec-Fetch-Site: cross-site, without Origin': { 'sec-fetch-site': 'cross-site' },
  };
  let index = 0;
  for (const [name, headers] of Object.entries(refusals)) {
    const filename = `refused-${index++}.txt`;
    const reply = await cookieUpload(filename, headers);
    t.equal(reply.status, 403, `${name}: refused`);
    t.equal(reply.body.code, 'CROSS_SITE_REQUEST');
    t.notOk(await isStored(filename), `${name}: nothing stored`);
  }

  t.equal((await cookieUpload('same-origin.txt', { origin: ownOrigin, 'sec-fetch-site': 'same-origin' })).status, 201, 'own origin');
  t.equal((await cookieUpload('typed.txt', { 'sec-fetch-site': 'none' })).status, 201, 'a request the user made themselves');
  t.equal((await cookieUpload('curl.txt', {})).status, 201, 'no Origin, no Sec-Fetch-Site: not a browser');
  t.equal(
    (await cookieUpload('bearer.txt', { origin: 'http://evil.example' }, 'bearer')).status,
    201,
    'a bearer token is no ambient credential',
  );
  t.ok(await isStored('same-origin.txt'));
  t.ok(await isStored('bearer.txt'));

  const crossDelete = await client.call('DELETE', ROUTES.myDrive, {
    json: { filename: 'curl.txt' },
    headers: { cookie: `token=${drive.token}`, origin: 'http://evil.example' },
  });
  t.equal(crossDelete.status, 403, 'a cross-site delete');
  t.ok(await isStored('curl.txt'), 'changes nothing');
  const crossLogout = await client.call('POST', ROUTES.logout, {
    headers: { cookie: `token=${drive.token}`, origin: 'http://evil.example' },
  });
  t.equal(crossLogout.status, 403, 'a cross-site logout');
  const read = await client.call('GET', ROUTES.myDrive + '?filename=curl.txt', {
    headers: { cookie: `token=${drive.token}`, origin: 'http://evil.example', host },
  });
  t.equal(read.status, 200, 'reads are not writes: GET is unaffected');
});

forEachDatabase(t, async (t, kind) => {
  // Behind one proxy, the browser's origin is the proxy's public name, which X-Forwarded-Host carries.
  const server = await startServer(t, kind, { trustProxy: 1 });
  const client = new Client(server.url);
  const drive = await Drive.register(client, 'proxied-user');
  const write = (origin: string) =>
    client.call('POST', ROUTES.myDrive + '?filename=proxied.txt', {
      body: 'proxied',
      headers: { 'content-type': 'application/octet-stream', cookie: `token=${drive.token}`, origin, 'x-forwarded-host': 'files.example' },
    });
  t.equal((await write('https://elsewhere.example')).status, 403);
  t.equal((await write('https://files.example')).status, 201, 'the public origin is the same origin');
});
