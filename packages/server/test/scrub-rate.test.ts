import t from 'tap';
import { forEachDatabase } from './helpers/build-app.js';
import { randomContent } from './helpers/content.js';
import { startFileServer } from './helpers/file-server.js';
import { scrubOnce, startScrubber } from './helpers/scrub.js';
import { eventually } from './helpers/waiting.js';

const MiB = 1024 * 1024;

// Generous: the machines these run on may be busy.
t.setTimeout(300_000);

/**
 * A timing test. The rate is measured over 9 blobs of 2 MiB (18 MiB, 3 s at 6 MiB/s), from the end
 * of the third to the end of the last: the first ones are the warm-up (the hashing threads start,
 * and the pacer's credit of 200 ms is spent).
 */

forEachDatabase(t, async (t, kind) => {
  t.test('the scrub holds its rate within 20 %', async (t) => {
    const {
      server,
      drives: [alice],
    } = await startFileServer(t, kind, ['alice']);
    const blobs = Array.from({ length: 12 }, () => randomContent(2 * MiB));
    for (const [index, content] of blobs.entries()) await alice.upload(`part-${index}.bin`, content);
    const rate = 6 * MiB;
    const { events } = await startScrubber(t, server, scrubOnce(rate));
    t.ok(await eventually(async () => events.length === blobs.length, 30_000), 'every blob scrubbed once');
    // The first three are the warm-up (the hashing threads start, the pacer's small credit is spent):
    // measured from the third one's end to the last one's, which is 9 blobs of reading.
    const measured = events.slice(3).reduce((sum, event) => sum + event.bytes, 0);
    const seconds = (events[events.length - 1].at - events[2].at) / 1000;
    const measuredRate = measured / seconds;
    t.ok(Math.abs(measuredRate - rate) / rate <= 0.2, `read ${(measuredRate / MiB).toFixed(2)} MiB/s for a limit of ${rate / MiB} MiB/s`);
    t.ok(
      events.every((event) => event.status === 'ok'),
      'all whole',
    );
  });
});
