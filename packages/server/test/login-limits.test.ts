import t from 'tap';
import { Client } from './helpers/client.js';
import { forEachDatabase, startServer } from './helpers/build-app.js';

forEachDatabase(t, async (t, kind) => {
  // Behind a trusted proxy, so each test below can speak from an address of its own.
  const server = await startServer(t, kind, { trustProxy: 1 });
  const client = new Client(server.url);
  const from = (address: string) => ({ 'x-forwarded-for': address });

  t.test('10 failures for a username refuse even the right password, existing or not', async (t) => {
    await client.register('Victim', 'the right password');
    for (let attempt = 0; attempt < 10; attempt++) {
      const reply = await client.login(attempt % 2 ? 'victim' : 'VICTIM', 'wrong password', from(`10.0.0.${attempt}`));
      t.equal(reply.status, 401);
      t.equal((await client.login('ghost', 'wrong password', from(`10.0.1.${attempt}`))).status, 401);
    }
    const limited = await client.login('victim', 'the right password', from('10.0.2.1'));
    t.equal(limited.status, 429);
    t.equal(limited.body.code, 'RATE_LIMITED');
    const retryAfter = Number(limited.headers['retry-after']);
    t.ok(retryAfter > 800 && retryAfter <= 900, `Retry-After ${retryAfter} is the oldest failure leaving the window`);
    const ghost = await client.login('ghost', 'wrong password', from('10.0.2.2'));
    t.equal(ghost.status, 429, 'an unknown username is limited the same way');
    t.same(Object.keys(ghost.body).sort(), Object.keys(limited.body).sort());
    t.equal(ghost.body.code, limited.body.code);
    await client.register('bystander', 'another password');
    t.equal((await client.login('bystander', 'another password', from('10.0.2.3'))).status, 200, 'other users are unaffected');
  });

  t.test('a token issued earlier keeps working while its user is limited', async (t) => {
    const token = await client.user('busy-user', 'busy password');
    for (let attempt = 0; attempt < 10; attempt++) await client.login('busy-user', 'nope nope', from('10.1.0.1'));
    t.equal((await client.login('busy-user', 'busy password', from('10.1.0.2'))).status, 429);
    t.equal((await client.call('GET', '/me', { token })).status, 200);
  });

  t.test('40 wrong passwords at once get no more checks than 10 sent one by one', async (t) => {
    await client.register('crowded', 'the right password');
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, attempt) => client.login('crowded', `wrong guess ${attempt}`, from(`10.2.0.${attempt}`))),
    );
    const checked = replies.filter((reply) => reply.status === 401).length;
    const limited = replies.filter((reply) => reply.status === 429);
    t.ok(checked <= 10, `${checked} passwords checked`);
    t.equal(checked + limited.length, 40, 'every other attempt is 429');
    t.ok(limited.every((reply) => reply.body.code === 'RATE_LIMITED' && Number(reply.headers['retry-after']) > 0));
    t.equal((await client.login('crowded', 'the right password', from('10.2.1.1'))).status, 429, 'then the right password too');
  });

  t.test(
    'behind one proxy, guesses at once from one address reach at most 100 checks, whatever X-Forwarded-For the client prepends',
    async (t) => {
      // With TRUST_PROXY=1 the proxy appends the address it saw; what the client wrote before it is not trusted.
      const spoofed = (attempt: number) => from(`198.51.100.${attempt % 250}, 203.0.113.9`);
      // Waves of at most 60 at once: more would overflow the hashing queue (503, not counted).
      const wave = (first: number, size: number) =>
        Promise.all(
          Array.from({ length: size }, (_, index) => client.login(`stranger${first + index}`, 'wrong password', spoofed(first + index))),
        );
      const replies = [...(await wave(0, 40)), ...(await wave(40, 40))];
      const last = await wave(80, 60);
      const statuses = [...replies, ...last].map((reply) => reply.status);
      const checked = statuses.filter((status) => status === 401).length;
      t.equal(checked, 100, `${checked} passwords checked in all`);
      t.equal(last.filter((reply) => reply.status === 429).length, 40, 'the last wave: 20 checked, 40 refused');
      t.same([...new Set(statuses)].sort(), [401, 429]);
      await client.register('neighbour', 'neighbour password');
      t.equal((await client.login('neighbour', 'neighbour password', from('10.3.0.1, 203.0.113.9'))).status, 429);
      t.equal((await client.login('neighbour', 'neighbour password', from('203.0.113.10'))).status, 200, 'another address is not limited');
    },
  );

  t.test('100 failures from one address refuse that address only', async (t) => {
    await client.register('honest', 'honest password');
    for (let attempt = 0; attempt < 100; attempt++) {
      const reply = await client.login(`nobody${attempt}`, 'wrong password', from('192.0.2.7'));
      if (reply.status !== 401) t.fail(`attempt ${attempt}: ${reply.status}`);
    }
    const limited = await client.login('honest', 'honest password', from('192.0.2.7'));
    t.equal(limited.status, 429);
    t.ok(Number(limited.headers['retry-after']) > 0);
    t.equal((await client.login('honest', 'honest password', from('192.0.2.8'))).status, 200);
  });
});
