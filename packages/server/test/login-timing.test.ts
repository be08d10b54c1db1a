import t from 'tap';
import { PASSWORD_HASH_COST } from '../src/config.js';
import { Client } from './helpers/client.js';
import { forEachDatabase, startServer } from './helpers/build-app.js';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

forEachDatabase(t, { oneAtATime: true }, async (t, kind) => {
  const server = await startServer(t, kind, { trustProxy: 1, passwordHashCost: PASSWORD_HASH_COST });
  const client = new Client(server.url);
  // Six users: 48 pairs give each 8 failures, under the limit of 10.
  const users = ['timing-a', 'timing-b', 'timing-c', 'timing-d', 'timing-e', 'timing-f'];
  for (const user of users) await client.register(user, 'the real password');

  const timed = async (username: string, address: string) => {
    const started = process.hrtime.bigint();
    const reply = await client.login(username, 'a wrong password', { 'x-forwarded-for': address });
    t.equal(reply.status, 401);
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  // Warm up, then interleave the two kinds of failure so that load affects both alike.
  await timed('warm-up', '10.9.0.1');
  await timed(users[0], '10.9.0.2');
  const known: number[] = [];
  const unknown: number[] = [];
  for (let pair = 0; pair < 48; pair++) {
    const address = `10.9.1.${pair}`;
    if (pair % 2) {
      known.push(await timed(users[pair % 6], address));
      unknown.push(await timed(`no-such-user-${pair}`, address));
    } else {
      unknown.push(await timed(`no-such-user-${pair}`, address));
      known.push(await timed(users[pair % 6], address));
    }
  }
  const ratio = median(known) / median(unknown);
  t.ok(
    ratio > 0.8 && ratio < 1.25,
    `median wrong-password ${median(known).toFixed(1)} ms vs unknown-user ${median(unknown).toFixed(1)} ms`,
  );
});
