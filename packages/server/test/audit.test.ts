import { ROUTES } from '@cloudstore/shared';
import t from 'tap';
import { forEachDatabase, restartServer, startServer } from './helpers/build-app.js';
import { Client, type CallOptions, type Reply } from './helpers/client.js';
import { randomContent } from './helpers/content.js';
import { Drive } from './helpers/drive.js';
import { Permits, type Member } from './helpers/permits.js';
import { openServerDatabase } from './helpers/storage-state.js';

/** A client whose requests all come from `address` (the server trusts one proxy hop). */
class AddressedClient extends Client {
  constructor(
    baseUrl: string,
    readonly address: string,
  ) {
    super(baseUrl);
  }

  override call(method: string, path: string, options: CallOptions = {}): Promise<Reply> {
    return super.call(method, path, { ...options, headers: { 'x-forwarded-for': this.address, ...options.headers } });
  }
}

async function member(url: string, name: string, address: string): Promise<Member> {
  const client = new AddressedClient(url, address);
  const drive = await Drive.register(client, name);
  return { name, drive, permits: new Permits(client, drive.token) };
}

interface Event {
  time: string;
  action: string;
  actor: string | null;
  address: string | null;
  filename: string | null;
  owner: string | null;
  target: string | null;
}

function auditPage(who: Member, query = ''): Promise<Reply> {
  return who.drive.client.call('GET', ROUTES.audit + query, { token: who.drive.token });
}

/** Every event `who` may see, newest first, page after page of `limit`. */
async function allEvents(who: Member, limit = 1000): Promise<Event[]> {
  const events: Event[] = [];
  let cursor: string | null = null;
  do {
    const cursorQuery: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const reply = await auditPage(who, `?limit=${limit}${cursorQuery}`);
    if (reply.status !== 200) throw new Error(`audit: ${reply.status} ${JSON.stringify(reply.body)}`);
    events.push(...(reply.body.events as Event[]));
    cursor = reply.body.next_cursor;
  } while (cursor !== null);
  return events;
}

/** The events without their times, oldest first: what the test compares. */
const story = (events: Event[]) => events.map(({ time: _time, ...event }) => event).reverse();

forEachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind, { trustProxy: 1 });
  const db = await openServerDatabase(t, server);
  const alice = await member(server.url, 'alice', '10.0.0.1');
  const bob = await member(server.url, 'bob', '10.0.0.2');
  const carol = await member(server.url, 'carol', '10.0.0.3');
  const dave = await member(server.url, 'dave', '10.0.0.4');
  const login = (name: string, address: string) => ({ action: 'login', actor: name, address, filename: null, owner: null, target: name });

  t.test('each action is recorded with who, what, when and from where, and shown to the users it concerns', async (t) => {
    const started = Date.now();
    const attacker = new AddressedClient(server.url, '10.6.6.6');
    t.equal((await attacker.login('ALICE', 'not her password')).status, 401);
    const eventRows = async () => Number((await db('audit_events').count({ count: '*' }).first())?.count);
    const rowsBefore = await eventRows();
    t.equal((await attacker.login('nobody-here', 'not a password')).status, 401);
    t.equal(await eventRows(), rowsBefore + 1, 'a failed login for an unknown username is recorded (as long as a known one takes)');
    const unknown = await db('audit_events').orderBy('id', 'desc').first();
    t.match(unknown, { action: 'login_failed', actor_id: null, target_id: null, owner_id: null, address: '10.6.6.6' }, '…as nobody’s');
    t.notOk(await db('audit_viewers').where('event_id', unknown.id).first(), 'no user sees it');

    t.equal((await alice.drive.upload('a.txt', randomContent(100))).status, 201);
    t.equal((await alice.permits.share('a.txt', 'bob')).status, 201);
    t.equal((await alice.permits.share('a.txt', 'bob')).status, 200, 'sharing again changes nothing');
    t.equal((await alice.permits.share('a.txt', 'carol')).status, 201);
    t.equal((await carol.permits.share('a.txt', 'dave')).status, 403, 'a refused action records nothing');
    t.equal((await bob.permits.revoke('a.txt', 'bob')).status, 200, 'bob leaves');
    t.equal((await alice.permits.transfer('a.txt', 'bob')).status, 200);
    t.equal((await bob.drive.delete('a.txt')).status, 200);

    const file = { filename: 'a.txt' };
    const share = (target: string) => ({ action: 'share', actor: 'alice', address: '10.0.0.1', ...file, owner: 'alice', target });
    const revoke = { action: 'revoke', actor: 'bob', address: '10.0.0.2', ...file, owner: 'alice', target: 'bob' };
    const transfer = { action: 'transfer', actor: 'alice', address: '10.0.0.1', ...file, owner: 'alice', target: 'bob' };
    const remove = { action: 'delete', actor: 'bob', address: '10.0.0.2', ...file, owner: 'bob', target: null };
    const failed = { action: 'login_failed', actor: null, address: '10.6.6.6', filename: null, owner: null, target: 'alice' };

    const aliceEvents = await allEvents(alice);
    t.same(story(aliceEvents), [login('alice', '10.0.0.1'), failed, share('bob'), share('carol'), revoke, transfer], "alice's trail");
    t.same(story(await allEvents(bob)), [login('bob', '10.0.0.2'), share('bob'), revoke, transfer, remove], "bob's trail");
    t.same(story(await allEvents(carol)), [login('carol', '10.0.0.3'), share('carol')], "carol's: only the share with her");
    t.same(story(await allEvents(dave)), [login('dave', '10.0.0.4')], 'a user who took no part sees nothing of it');
    for (const event of aliceEvents) {
      t.match(event.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const time = Date.parse(event.time);
      t.ok(time >= started - 60_000 && time <= Date.now(), 'a time of the test');
    }
  });

  t.test('pages: newest first, a signed cursor, the same events whatever the page size', async (t) => {
    t.equal((await dave.drive.upload('d.txt', randomContent(10))).status, 201);
    for (let round = 0; round < 9; round++) {
      t.equal((await dave.permits.share('d.txt', 'carol')).status, 201);
      t.equal((await dave.permits.revoke('d.txt', 'carol')).status, 200);
    }
    const whole = await allEvents(dave);
    t.equal(whole.length, 19, 'his login and 18 changes');
    const times = whole.map((event) => Date.parse(event.time));
    t.same(
      times,
      [...times].sort((a, b) => b - a),
      'newest first',
    );
    for (const limit of [1, 4, 7]) t.same(await allEvents(dave, limit), whole, `pages of ${limit}`);
    const first = await auditPage(dave, '?limit=5');
    t.equal(first.body.events.length, 5);
    t.type(first.body.next_cursor, 'string');
    const listing = await dave.permits.list('?limit=1');
    for (const [query, what] of [
      ['?cursor=abc.def', 'a cursor the server did not issue'],
      [`?cursor=${encodeURIComponent(`${first.body.next_cursor}x`)}`, 'a cursor altered'],
      [`?cursor=${encodeURIComponent(String(listing.body.next_cursor))}`, "the listing's cursor"],
      ['?limit=0', 'limit 0'],
      ['?limit=1001', 'limit over 1000'],
      ['?limit=', 'an empty limit'],
    ]) {
      const reply = await auditPage(dave, query);
      t.equal(reply.status, 400, what);
      t.equal(reply.body.code, 'VALIDATION_FAILED');
    }
    t.equal((await new Client(server.url).call('GET', ROUTES.audit)).status, 401, 'anonymous');
    const carolTrail = await allEvents(carol);
    t.equal(carolTrail.filter((event) => event.owner === 'dave').length, 18, 'carol sees what was done to her access');
  });

  t.test('events older than AUDIT_RETENTION_DAYS are removed by the housekeeping sweep', async (t) => {
    const [{ id: aliceId }] = await db('users').where('username_key', 'alice').select('id');
    const day = 24 * 3600 * 1000;
    for (const age of [40, 20]) {
      const [eventId] = await db('audit_events').insert({
        at: Date.now() - age * day,
        action: 'login',
        actor_id: aliceId,
        target_id: aliceId,
      });
      await db('audit_viewers').insert({ user_id: aliceId, event_id: eventId });
    }
    const before = (await allEvents(alice)).length;
    await server.app.close();
    const restarted = await restartServer(t, server, { auditRetentionDays: 30 });
    const again = { ...alice, drive: new Drive(new AddressedClient(restarted.url, '10.0.0.1'), alice.drive.token) };
    const after = await allEvents(again);
    t.equal(after.length, before - 1, 'the 40-day-old event is gone, the 20-day-old one kept');
    t.notOk(
      await db('audit_events')
        .where('at', '<', Date.now() - 30 * day)
        .first(),
      'no event older than 30 days is left',
    );
    t.notOk(
      await db('audit_viewers').leftJoin('audit_events', 'audit_events.id', 'audit_viewers.event_id').whereNull('audit_events.id').first(),
      'nor any viewer row of one',
    );
  });
});
