import t from 'tap';
import { forEachDatabase } from './helpers/build-app.js';
import { randomContent, sha256Hex } from './helpers/content.js';
import { startFileServer } from './helpers/file-server.js';
import { scrubOnce, startScrubber } from './helpers/scrub.js';
import { eventually, sleep } from './helpers/waiting.js';

const MiB = 1024 * 1024;

// Generous: the machines these run on may be busy (the scrub's timing is checked by scrub-rate.test.ts alone).
t.setTimeout(300_000);

forEachDatabase(t, async (t, kind) => {
  // One server for the three tests: each uploads content of its own, which its scrubbers read
  // once; what an earlier test scrubbed is not due again for 30 days.
  const {
    server,
    drives: [alice],
  } = await startFileServer(t, kind, ['alice']);
  t.test('a blob deleted while the scrub reads it is skipped, not reported damaged', async (t) => {
    const content = randomContent(2 * MiB);
    await alice.upload('big.bin', content);
    // At 256 KiB/s the pacer lets the first 1 MiB read go at once and holds the second until
    // about 3.8 s: the delete lands between them. (At 1 MiB/s the second read was due at 800 ms,
    // the very moment of the delete: a busy machine let the scrub finish first.)
    const { events } = await startScrubber(t, server, scrubOnce(256 * 1024));
    await sleep(800);
    t.equal((await alice.delete('big.bin')).status, 200, 'deleted mid-scrub');
    t.ok(await eventually(async () => events.length > 0, 10_000), 'the scrub ends');
    t.equal(events[0].status, 'skipped');
  });

  t.test('the scrub resumes where it stopped after a restart', async (t) => {
    const digests = new Set<string>();
    for (let index = 0; index < 6; index++) {
      const content = randomContent(MiB);
      digests.add(sha256Hex(content));
      await alice.upload(`f-${index}.bin`, content);
    }
    const first = await startScrubber(t, server, scrubOnce(2 * MiB));
    const before = first.events;
    t.ok(await eventually(async () => before.length >= 2, 15_000), 'two scrubbed before the stop');
    await first.app.close();
    const { events: after } = await startScrubber(t, server, scrubOnce(8 * MiB));
    const done = before.length;
    t.ok(await eventually(async () => done + after.length >= 6, 15_000), 'the rest scrubbed after the restart');
    await sleep(300);
    const again = after.filter((event) => before.some((earlier) => earlier.sha256 === event.sha256));
    t.same(again, [], 'nothing scrubbed before the stop is read again');
    t.same(new Set([...before, ...after].map((event) => event.sha256)), digests, 'every content scrubbed');
  });

  t.test('two scrubbers on one database never read the same content', async (t) => {
    const count = 6;
    for (let index = 0; index < count; index++) await alice.upload(`g-${index}.bin`, randomContent(MiB));
    // One after the other (SQLite migrates one app at a time), and slow enough that the first cannot
    // finish alone before the second has started.
    const scrubbers = [await startScrubber(t, server, scrubOnce(MiB)), await startScrubber(t, server, scrubOnce(MiB))];
    const events = scrubbers.map((scrubber) => scrubber.events);
    const all = () => events.flat();
    t.ok(await eventually(async () => all().length >= count, 15_000), 'every content scrubbed');
    await sleep(500);
    const digests = all().map((event) => event.sha256);
    t.equal(digests.length, count, 'each once');
    t.equal(new Set(digests).size, count, 'no content twice');
    t.ok(
      events.every((mine) => mine.length > 0),
      `both took part (${events.map((mine) => mine.length).join(' + ')})`,
    );
  });
});
