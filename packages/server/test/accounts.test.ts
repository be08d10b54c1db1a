import t from 'tap';
import { Client } from './helpers/client.js';
import { forEachDatabase, startServer } from './helpers/build-app.js';

forEachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind);
  const client = new Client(server.url);

  t.test('usernames follow the rules and are unique without regard to case', async (t) => {
    t.equal((await client.register('Alice', 'password-one')).status, 201);
    const again = await client.register('alice', 'password-two');
    t.equal(again.status, 409);
    t.equal(again.body.code, 'USERNAME_TAKEN');
    for (const bad of ['ab', 'a'.repeat(33), 'has space', 'släsh', 'semi;colon', '']) {
      const reply = await client.register(bad, 'long enough password');
      t.equal(reply.status, 400, `'${bad}' is refused`);
      t.equal(reply.body.code, 'VALIDATION_FAILED');
    }
    t.equal((await client.register('a.b_c-9', 'long enough password')).status, 201);
    t.equal((await client.register('b'.repeat(32), 'long enough password')).status, 201);
    const login = await client.login('ALICE', 'password-one');
    t.equal(login.status, 200);
    t.equal(login.body.username, 'Alice', 'shown as registered');
  });

  t.test('passwords are 8 to 1024 characters and every byte counts', async (t) => {
    t.equal((await client.register('shortpw', 'seven77')).status, 400);
    t.equal((await client.register('longpw', 'x'.repeat(1025))).status, 400);
    const base = 'p'.repeat(72);
    t.equal((await client.register('bytes72', base + 'A')).status, 201);
    t.equal((await client.login('bytes72', base + 'B')).status, 401, 'a difference after byte 72 matters');
    t.equal((await client.login('bytes72', base + 'A')).status, 200);
  });

  t.test('JSON fields are never coerced', async (t) => {
    for (const json of [
      { username: 12345, password: 'long enough password' },
      { username: ['carol'], password: 'long enough password' },
      { username: 'carol', password: 12345678 },
      { username: 'carol', password: null },
      { username: 'carol' },
    ]) {
      const reply = await client.call('POST', '/register', { json });
      t.equal(reply.status, 400, JSON.stringify(json));
      t.equal(reply.body.code, 'VALIDATION_FAILED');
    }
    const malformed = await client.call('POST', '/login', { body: '{"username":', headers: { 'content-type': 'application/json' } });
    t.equal(malformed.status, 400);
    t.equal(malformed.body.code, 'VALIDATION_FAILED');
    const text = await client.call('POST', '/register', { body: 'username=a', headers: { 'content-type': 'text/plain' } });
    t.equal(text.status, 415);
    t.equal(text.body.code, 'UNSUPPORTED_MEDIA_TYPE');
    const unknownFields = await client.call('POST', '/register', {
      json: { username: 'extra', password: 'long enough password', admin: true },
    });
    t.equal(unknownFields.status, 201, 'unknown fields are ignored');
  });

  t.test('login, me and logout with a bearer token and with the cookie', async (t) => {
    await client.register('dave', 'dave password');
    const login = await client.login('dave', 'dave password');
    t.equal(login.status, 200);
    t.match(login.body, { token_type: 'Bearer', expires_in: 3600, username: 'dave' });
    const cookie = String(login.headers['set-cookie']);
    t.match(cookie, /^token=[^;]+;/);
    t.match(cookie, /HttpOnly/);
    t.match(cookie, /SameSite=Strict/);
    t.match(cookie, /Path=\//);
    t.notMatch(cookie, /Secure/);
    const cookieHeader = { cookie: cookie.split(';')[0] };

    const byBearer = await client.call('GET', '/me', { token: login.body.token });
    t.same(byBearer.body, { username: 'dave', files: 0, bytes: 0, logical_bytes: 0, stored_bytes: 0, quota_bytes: null });
    t.equal((await client.call('GET', '/me/', { headers: cookieHeader })).status, 200, 'cookie and trailing slash');

    const second = await client.login('dave', 'dave password');
    const logout = await client.call('POST', '/logout', { headers: cookieHeader });
    t.equal(logout.status, 204);
    t.match(String(logout.headers['set-cookie']), /token=;/);
    for (const attempt of [{ headers: cookieHeader }, { token: login.body.token }]) {
      const reply = await client.call('GET', '/me', attempt);
      t.equal(reply.status, 401, 'a revoked token never authenticates again');
      t.equal(reply.body.code, 'UNAUTHENTICATED');
    }
    t.equal((await client.call('GET', '/me', { token: second.body.token })).status, 200, 'only that token is revoked');
    t.equal((await client.call('POST', '/logout')).status, 401);
  });

  t.test('unknown user and wrong password look the same', async (t) => {
    await client.register('erin', 'erin password');
    const wrong = await client.login('erin', 'not her password');
    const unknown = await client.login('nobody-here', 'not her password');
    t.equal(wrong.status, 401);
    t.same(wrong.body, unknown.body);
    t.equal(wrong.body.code, 'INVALID_CREDENTIALS');
    t.same(Object.keys(wrong.headers).sort(), Object.keys(unknown.headers).sort());
  });
});

t.test('the cookie is Secure when configured', async (t) => {
  const server = await startServer(t, 'sqlite', { cookieSecure: true });
  const client = new Client(server.url);
  await client.register('frank', 'frank password');
  const login = await client.login('frank', 'frank password');
  t.match(String(login.headers['set-cookie']), /; Secure/);
});
