import { createHmac } from 'node:crypto';
import t from 'tap';
import { Client } from './helpers/client.js';
import { forEachDatabase, startServer } from './helpers/build-app.js';

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function forge(header: object, payload: object, secret: string, algorithm = 'sha256'): string {
  const unsigned = `${base64url(header)}.${base64url(payload)}`;
  return `${unsigned}.${createHmac(algorithm, secret).update(unsigned).digest('base64url')}`;
}

forEachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind);
  const client = new Client(server.url);
  await client.register('mallory', 'mallory password');
  const login = await client.login('mallory', 'mallory password');
  const [, payloadPart] = login.body.token.split('.');
  const claims = JSON.parse(Buffer.from(payloadPart, 'base64url').toString());
  t.match(claims, { iss: 'cloudstore', aud: 'cloudstore', jti: String });
  t.equal(claims.exp - claims.iat, 3600);
  const secret = server.config.jwtSecret ?? '';
  const now = Math.floor(Date.now() / 1000);

  const without = (claim: string) => Object.fromEntries(Object.entries(claims).filter(([name]) => name !== claim));
  const forgeries: Record<string, string> = {
    'no exp (correctly signed)': forge({ alg: 'HS256', typ: 'JWT' }, without('exp'), secret),
    'no iss (correctly signed)': forge({ alg: 'HS256', typ: 'JWT' }, without('iss'), secret),
    'no aud (correctly signed)': forge({ alg: 'HS256', typ: 'JWT' }, without('aud'), secret),
    'alg none': `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`,
    'another algorithm (HS512)': forge({ alg: 'HS512', typ: 'JWT' }, claims, secret, 'sha512'),
    'a wrong secret': forge({ alg: 'HS256', typ: 'JWT' }, claims, 'another secret of at least 32 bytes!!'),
    'a wrong audience': forge({ alg: 'HS256', typ: 'JWT' }, { ...claims, aud: 'elsewhere' }, secret),
    'a wrong issuer': forge({ alg: 'HS256', typ: 'JWT' }, { ...claims, iss: 'elsewhere' }, secret),
    'an expired exp': forge({ alg: 'HS256', typ: 'JWT' }, { ...claims, iat: now - 100, exp: now - 10 }, secret),
    'an unknown token id': forge({ alg: 'HS256', typ: 'JWT' }, { ...claims, jti: 'made-up' }, secret),
    garbage: 'not.a.token',
  };
  t.equal(
    (await client.call('GET', '/me', { token: forge({ alg: 'HS256', typ: 'JWT' }, claims, secret) })).status,
    200,
    'control: a well-signed copy works',
  );
  // Verified once, a token is remembered: it must still stop working when it expires.
  const expiresSoon = Math.floor(Date.now() / 1000) + 2;
  const shortLived = forge({ alg: 'HS256', typ: 'JWT' }, { ...claims, exp: expiresSoon }, secret);
  t.equal((await client.call('GET', '/me', { token: shortLived })).status, 200, 'a token that expires in 2 s works now');
  await new Promise((resolve) => setTimeout(resolve, expiresSoon * 1000 - Date.now() + 50));
  const expired = await client.call('GET', '/me', { token: shortLived });
  t.equal(expired.status, 401, 'and not once it has expired');
  t.equal(expired.body.code, 'UNAUTHENTICATED');

  for (const [name, token] of Object.entries(forgeries)) {
    for (const via of ['bearer', 'cookie']) {
      const options = via === 'bearer' ? { token } : { headers: { cookie: `token=${token}` } };
      const reply = await client.call('GET', '/me', options);
      t.equal(reply.status, 401, `${name} by ${via}`);
      t.equal(reply.body.code, 'UNAUTHENTICATED');
    }
  }
});
