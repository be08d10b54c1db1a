import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext } from '../bench-context.js';
import type { CaseId } from '../options.js';
import { MiB } from '../plan.js';
import { cpuSeconds, readMemory, resetPeakRss } from '../proc-stats.js';
import { CloudStore } from '../servers/cloudstore.js';
import { TARGETS, judge, notMeasured } from '../targets.js';
import { testFile } from '../test-files.js';

/** API.md's UPLOADS_PER_USER default: the most one user may have in flight. */
const UPLOADS_PER_USER = 64;
export const USERS = 4;
/** Long enough for every upload's half-filled buffer to go back to the pool (100 ms) many times over. */
const HOLD_MS = 2000;
/** `--quick` checks the harness, not the figure: a shorter settle and hold (still 5 buffer returns). */
const QUICK_HOLD_MS = 500;
/** Consecutive 100 ms checks in which the server used under 5 ms of CPU: it has settled. */
const SETTLED_CHECKS = 5;

/**
 * Uploads in flight that stall (API.md, "Limits, timeouts and housekeeping"): 4 users × 64 raw
 * uploads, each announcing 64 MiB, sending 1 MiB and then nothing. Server RSS, peak over idle,
 * must stay within 160 MiB: the upload buffers come from one pool, whatever the number of uploads.
 */
/** Stalled uploads per user: API.md's UPLOADS_PER_USER, fewer in a quick run. */
export function stalledPerUser(context: BenchContext): number {
  return context.plan.quick ? 8 : UPLOADS_PER_USER;
}

export function stalledTable(perUser: number): string {
  return `Server memory, ${USERS} users × ${perUser} uploads in flight, each stalled after 1 MiB`;
}

export async function runStalledUploads(context: BenchContext): Promise<void> {
  const perUser = stalledPerUser(context);
  const table = stalledTable(perUser);
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
    try {
      // Every upload is being stored: its temporary file exists.
      const temporaryDirectory = path.join(store.dataDirectory, 'tmp');
      const { idle, peak, inFlight } = await measureStalled(
        store,
        perUser,
        table,
        context,
        async () => (await readdir(temporaryDirectory)).length,
      );
      context.results.judge(
        judge(
          TARGETS.stalledUploadsRss,
          database,
          peak - idle,
          `${USERS * perUser} uploads, ${inFlight} seen in flight; idle ${idle.toFixed(1)} MiB, peak ${peak.toFixed(1)} MiB`,
          { holds: inFlight === USERS * perUser, text: `only ${inFlight} of ${USERS * perUser} uploads were in flight` },
        ),
      );
    } finally {
      if (isFresh) await store.stop();
    }
  }
}

/**
 * Starts the stalled uploads, waits until `countInFlight` sees them all (or, without it, until
 * they all had time to arrive), holds, and returns idle and peak RSS in MiB.
 */
export async function measureStalled(
  store: CloudStore,
  perUser: number,
  table: string,
  context: BenchContext,
  countInFlight: (() => Promise<number>) | null,
  where = '',
  caseId: CaseId = 'stalled-uploads',
): Promise<{ idle: number; peak: number; inFlight: number }> {
  const warmup = await testFile('payload', MiB);
  const sockets: net.Socket[] = [];
  const answered = new Set<net.Socket>();
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
    let inFlight = 0;
    try {
      const oneMiB = randomBytes(MiB);
      for (const token of tokens) {
        for (let index = 0; index < perUser; index++) {
          const socket = stalledUpload(store, token, `stalled-${sockets.length}`, oneMiB);
          socket.once('data', () => answered.add(socket));
          socket.once('close', () => answered.add(socket));
          sockets.push(socket);
        }
      }
      const deadline = Date.now() + 60_000;
      if (countInFlight) {
        while (Date.now() < deadline && (inFlight = await countInFlight()) < sockets.length) await sleep(100);
      } else {
        // Every socket has sent its 1 MiB (the kernel took it: on loopback, all of it may sit in
        // the server's receive buffer), and the server has settled: it used no CPU for a while,
        // having taken all that it will take before the clients send more.
        while (Date.now() < deadline && sockets.some((socket) => socket.writableLength > 0 && !answered.has(socket))) await sleep(100);
        let before = cpuSeconds(pid) ?? 0;
        for (let quiet = 0; quiet < SETTLED_CHECKS && Date.now() < deadline;) {
          await sleep(100);
          const now = cpuSeconds(pid) ?? 0;
          quiet = now - before < 0.005 ? quiet + 1 : 0;
          before = now;
        }
      }
      await sleep(context.plan.quick ? QUICK_HOLD_MS : HOLD_MS);
      if (!countInFlight) inFlight = sockets.filter((socket) => !answered.has(socket)).length;
    } finally {
      clearInterval(sampler);
    }
    const hwm = readMemory(pid)!.peakRssKiB / 1024;
    const peak = isReset ? Math.max(hwm, sampled) : sampled;
    context.results.add({
      caseId,
      table,
      label: `idle RSS (${store.label}${where})`,
      unit: 'MiB',
      higherIsBetter: false,
      samples: [idle],
    });
    context.results.add({
      caseId,
      table,
      label: `peak RSS (${store.label}${where})`,
      unit: 'MiB',
      higherIsBetter: false,
      samples: [peak],
    });
    return { idle, peak, inFlight };
  } finally {
    for (const socket of sockets) socket.destroy();
    await store.remove('warm-stalled').catch(() => {});
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
