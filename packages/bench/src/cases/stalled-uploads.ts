import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext } from '../bench-context.js';
import { MiB } from '../plan.js';
import { readMemory, resetPeakRss } from '../proc-stats.js';
import { CloudStore } from '../servers/cloudstore.js';
import { TARGETS, judge, notMeasured } from '../targets.js';
import { testFile } from '../test-files.js';

/** API.md's UPLOADS_PER_USER default: the most one user may have in flight. */
const UPLOADS_PER_USER = 64;
const USERS = 4;
/** Long enough for every upload's half-filled buffer to go back to the pool (100 ms) many times over. */
const HOLD_MS = 2000;
/** `--quick` checks the harness, not the figure: a shorter settle and hold (still 5 buffer returns). */
const QUICK_HOLD_MS = 500;

/**
 * Uploads in flight that stall (API.md, "Limits, timeouts and housekeeping"): 4 users × 64 raw
 * uploads, each announcing 64 MiB, sending 1 MiB and then nothing. Server RSS, peak over idle,
 * must stay within 160 MiB: the upload buffers come from one pool, whatever the number of uploads.
 */
export async function runStalledUploads(context: BenchContext): Promise<void> {
  const perUser = context.plan.quick ? 8 : UPLOADS_PER_USER;
  const warmup = await testFile('payload', MiB);
  const table = `Server memory, ${USERS} users × ${perUser} uploads in flight, each stalled after 1 MiB`;
  for (const database of context.options.databases) {
    const unavailable = context.unavailableDatabases.get(database);
    if (unavailable !== undefined) {
      context.results.judge(notMeasured(TARGETS.stalledUploadsRss, database, unavailable));
      continue;
    }
    context.progress(`${USERS * perUser} stalled uploads on ${database}`);
    const running = context.cloudStores.find((candidate) => candidate.database === database);
    const isFresh = !context.plan.quick || !running;
    const store = isFresh ? await CloudStore.start({ runDirectory: context.runDirectory, database, instance: 'stalled' }) : running;
    const sockets: net.Socket[] = [];
    try {
      const tokens = [store.token];
      while (tokens.length < USERS) tokens.push(await store.extraAccount());
      await store.rawUpload(warmup, 'warm-stalled');
      await sleep(context.plan.quick ? 250 : 1000);
      const pid = store.server.pid;
      const isReset = resetPeakRss(pid);
      const idle = readMemory(pid)!.rssKiB / 1024;
      let sampled = idle;
      const sampler = setInterval(() => {
        const memory = readMemory(pid);
        if (memory) sampled = Math.max(sampled, memory.rssKiB / 1024);
      }, 20);
      const temporaryDirectory = path.join(store.dataDirectory, 'tmp');
      let inFlight = 0;
      try {
        const oneMiB = randomBytes(MiB);
        for (const token of tokens) {
          for (let index = 0; index < perUser; index++) sockets.push(stalledUpload(store, token, `stalled-${sockets.length}`, oneMiB));
        }
        // Every upload is being stored (its temporary file exists) and has had time to settle.
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline && (inFlight = (await readdir(temporaryDirectory)).length) < sockets.length) await sleep(100);
        await sleep(context.plan.quick ? QUICK_HOLD_MS : HOLD_MS);
      } finally {
        clearInterval(sampler);
      }
      const hwm = readMemory(pid)!.peakRssKiB / 1024;
      const peak = isReset ? Math.max(hwm, sampled) : sampled;
      context.results.add({
        caseId: 'stalled-uploads',
        table,
        label: `idle RSS (${store.label})`,
        unit: 'MiB',
        higherIsBetter: false,
        samples: [idle],
      });
      context.results.add({
        caseId: 'stalled-uploads',
        table,
        label: `peak RSS (${store.label})`,
        unit: 'MiB',
        higherIsBetter: false,
        samples: [peak],
      });
      context.results.judge(
        judge(
          TARGETS.stalledUploadsRss,
          database,
          peak - idle,
          `${sockets.length} uploads, ${inFlight} seen in flight; idle ${idle.toFixed(1)} MiB, peak ${peak.toFixed(1)} MiB`,
          { holds: inFlight === sockets.length, text: `only ${inFlight} of ${sockets.length} uploads were in flight` },
        ),
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await store.remove('warm-stalled').catch(() => {});
      if (isFresh) await store.stop();
    }
  }
}

/** A raw upload that announces 64 MiB, sends `prefix`, then nothing. */
function stalledUpload(store: CloudStore, token: string, name: string, prefix: Buffer): net.Socket {
  const { hostname, port } = new URL(store.url);
  const socket = net.connect(Number(port), hostname);
  socket.on('error', () => {});
  socket.write(
    `POST /cloud/my-drive/?filename=${name} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: application/octet-stream\r\nContent-Length: ${64 * MiB}\r\n\r\n`,
  );
  socket.write(prefix);
  return socket;
}
