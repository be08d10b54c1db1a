import t from 'tap';
import { forEachDatabase, startServer } from './helpers/build-app.js';
import { Client } from './helpers/client.js';
import { randomContent } from './helpers/content.js';
import { Drive } from './helpers/drive.js';

const PAIRS = 50;
const WARM_UP_PAIRS = 20;
/** Medians within 10 % (API.md: a refusal must not tell stored content from never-seen content). */
const TOLERANCE = 0.1;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/**
 * A stranger's refused claim of content that someone else stored, against one of content never
 * seen: the timing an attacker would compare. Each test gets an app of its own, so that no other
 * test's requests share its measurement.
 */
forEachDatabase(t, { oneAtATime: true }, async (t, kind) => {
  const server = await startServer(t, kind);
  const client = new Client(server.url);
  const owner = await Drive.register(client, 'owner');
  const stranger = await Drive.register(client, 'stranger');
  // One owner holds it (under two names): below any threshold, so never disclosed to a stranger.
  const stored = randomContent(300_000);
  t.equal((await owner.upload('payslip.pdf', stored)).status, 201);
  t.equal((await owner.upload('payslip-copy.pdf', stored)).status, 201);

  const time = async (content: Buffer): Promise<number> => {
    const started = process.hrtime.bigint();
    const reply = await stranger.claim('guess.pdf', content);
    const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    if (reply.status !== 404 || reply.body.code !== 'CONTENT_UNKNOWN') throw new Error(`expected 404 CONTENT_UNKNOWN, got ${reply.status}`);
    return elapsed;
  };
  /** Interleaved pairs, each order in half of them, so that a load spike hits both sides alike. */
  const measure = async (pairs: number) => {
    const storedTimes: number[] = [];
    const unseenTimes: number[] = [];
    for (let pair = 0; pair < pairs; pair++) {
      const unseen = randomContent(300_000);
      if (pair % 2) {
        storedTimes.push(await time(stored));
        unseenTimes.push(await time(unseen));
      } else {
        unseenTimes.push(await time(unseen));
        storedTimes.push(await time(stored));
      }
    }
    return { stored: median(storedTimes), unseen: median(unseenTimes) };
  };

  await measure(WARM_UP_PAIRS);
  // A busy machine (tap runs two files at once on 2 cores) can skew a run: up to three
  // measurements, the first within the tolerance decides, and every one is reported.
  const runs = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const run = await measure(PAIRS);
    runs.push(run);
    t.comment(`${kind}, run ${attempt}: medians stored ${run.stored.toFixed(3)} ms, never seen ${run.unseen.toFixed(3)} ms`);
    if (Math.abs(run.stored / run.unseen - 1) <= TOLERANCE) break;
  }
  const last = runs[runs.length - 1];
  t.ok(
    Math.abs(last.stored / last.unseen - 1) <= TOLERANCE,
    `refusals cost the same: stored ${last.stored.toFixed(3)} ms, never seen ${last.unseen.toFixed(3)} ms (median of ${PAIRS} pairs)`,
  );
});
