import t from 'tap';
import { PASSWORD_HASH_COST } from '../src/config.js';
import { Client } from './helpers/client.js';
import { forEachDatabase, startServer } from './helpers/build-app.js';

// API.md: up to 64 logins/registrations wait for a hashing thread; beyond that 503 with Retry-After.
// (Apart from hash-flood.test.ts, whose timed flood must run alone: this one may run beside others.)
forEachDatabase(t, async (t, kind) => {
  // One thread at the production cost: 100 logins sent at once overflow the queue of 64 unless
  // they take longer to arrive than 35 hashes (2.6 s) take to compute; the thread is low-priority, so
  // load slows the hashing more than the arrivals. (A dearer hash only made the queue slower to drain.)
  const server = await startServer(t, kind, { trustProxy: 1, hashConcurrency: 1, passwordHashCost: PASSWORD_HASH_COST });
  const client = new Client(server.url);
  const replies = await Promise.all(
    Array.from({ length: 100 }, (_, index) => client.login(`queued${index}`, 'wrong password', { 'x-forwarded-for': `10.8.0.${index}` })),
  );
  const unavailable = replies.filter((reply) => reply.status === 503);
  t.ok(unavailable.length > 0, `${unavailable.length} refused beyond the queue`);
  t.ok(unavailable.every((reply) => reply.body.code === 'SERVICE_UNAVAILABLE' && Number(reply.headers['retry-after']) >= 1));
  t.same([...new Set(replies.map((reply) => reply.status))].sort(), [401, 503]);
});
