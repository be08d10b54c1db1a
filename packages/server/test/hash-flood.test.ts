import { availableParallelism } from 'node:os';
import { ROUTES } from '@cloudstore/shared';
import t from 'tap';
import { PASSWORD_HASH_COST } from '../src/config.js';
import { Client } from './helpers/client.js';
import { forEachDatabase, startServer } from './helpers/build-app.js';
import { Drive } from './helpers/drive.js';

const FLOOD_MS = 5000;
const LOGIN_LOOPS = 8;
const DOWNLOADS = 30;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

// API.md: password hashing never slows file transfers. Production cost and HASH_CONCURRENCY at
// its default (the number of cores), as the attacker would find them.
forEachDatabase(t, { oneAtATime: true }, async (t, kind) => {
  const server = await startServer(t, kind, { passwordHashCost: PASSWORD_HASH_COST, hashConcurrency: availableParallelism() });
  const client = new Client(server.url);
  const drive = await Drive.register(client, 'reader');
  const content = Buffer.alloc(4096, 'x');
  t.equal((await drive.upload('small.bin', content)).status, 201);
  await client.register('flooder', 'flooder password');

  const download = async () => {
    const started = process.hrtime.bigint();
    const reply = await drive.download('small.bin');
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    return { ms, isWhole: reply.status === 200 && reply.raw.equals(content) };
  };
  for (let warmUp = 0; warmUp < 5; warmUp++) await download();
  const quiet: number[] = [];
  for (let index = 0; index < 10; index++) quiet.push((await download()).ms);

  let isFlooding = true;
  const loginStatuses = new Map<number, number>();
  const loop = async () => {
    while (isFlooding) {
      const reply = await client.call('POST', ROUTES.login, { json: { username: 'flooder', password: 'flooder password' } });
      loginStatuses.set(reply.status, (loginStatuses.get(reply.status) ?? 0) + 1);
    }
  };
  const loops = Array.from({ length: LOGIN_LOOPS }, loop);
  // Let the queue fill before measuring, then spread the downloads over the flood.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const during: number[] = [];
  let failures = 0;
  const gapMs = (FLOOD_MS - 1000) / DOWNLOADS;
  for (let index = 0; index < DOWNLOADS; index++) {
    const { ms, isWhole } = await download();
    during.push(ms);
    if (!isWhole) failures++;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, gapMs - ms)));
  }
  isFlooding = false;
  await Promise.all(loops);

  const logins = [...loginStatuses].map(([status, count]) => `${count} × ${status}`).join(', ');
  t.comment(
    `${kind}: 4 KiB download median ${median(during).toFixed(1)} ms during the login flood (${logins}); ${median(quiet).toFixed(1)} ms before it`,
  );
  t.equal(failures, 0, 'every download whole');
  t.ok(median(during) < 100, `median ${median(during).toFixed(1)} ms under 100 ms`);
  t.same([...loginStatuses.keys()], [200], 'every login succeeded: the queue never overflowed');
  t.ok((loginStatuses.get(200) ?? 0) >= LOGIN_LOOPS, 'the flood did hash');
});
