import { Agent, get } from 'node:http';
import type { BenchContext } from '../bench-context.js';
import { median, pairedRatios, stopwatch } from '../measure.js';
import { formatSize } from '../plan.js';
import type { CloudStore } from '../servers/cloudstore.js';
import { TARGETS, judge, notMeasured } from '../targets.js';
import { testFile } from '../test-files.js';

/**
 * Issue 18: an authenticated small download's latency, one request at a time over one kept-alive
 * connection, with the server idle and during a flood of valid logins (loops that each log in
 * again as soon as answered). Password hashing must not starve file reads or the event loop.
 * Idle and flooded runs alternate, one pair per repetition.
 */

const FILE_NAME = 'login-flood.bin';

export async function runLoginFlood(context: BenchContext): Promise<void> {
  const { probes, loops, repetitions, fileSize } = context.plan.loginFlood;
  const table = `${formatSize(fileSize)} download latency, one request at a time, idle and during ${loops} loops of logins`;
  const file = await testFile('small', fileSize);
  for (const store of context.cloudStores) {
    const idleLabel = `idle, median (${store.label})`;
    const floodLabel = `during the login flood, median (${store.label})`;
    context.progress(
      `login flood (${store.label}): ${repetitions} × (${probes} downloads idle, then as many during ${loops} loops of logins)`,
    );
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      await store.rawUpload(file, FILE_NAME);
      const probe = () => downloadLatencies(store, agent, probes, fileSize);
      // Untimed: the connection, the JIT and the page cache warm up.
      await probe();
      const idle: number[] = [];
      const flooded: number[] = [];
      const loginRates: number[] = [];
      for (let repetition = 0; repetition < repetitions; repetition++) {
        idle.push(median(await probe()));
        const { result, loginsPerSecond } = await duringLoginFlood(store, loops, probe);
        flooded.push(median(result));
        loginRates.push(loginsPerSecond);
      }
      context.results.add({ caseId: 'login-flood', table, label: idleLabel, unit: 'ms', higherIsBetter: false, samples: idle });
      context.results.add({
        caseId: 'login-flood',
        table,
        label: floodLabel,
        unit: 'ms',
        higherIsBetter: false,
        samples: flooded,
        detail: `${median(loginRates).toFixed(1)} logins/s answered meanwhile`,
      });
      const ratios = pairedRatios(flooded, idle);
      context.results.addRatio({ caseId: 'login-flood', table, label: `during the flood ÷ idle (${store.label})`, ratios });
      context.results.judge(
        judge(
          TARGETS.loginFlood,
          store.database,
          median(ratios),
          `${median(idle).toFixed(2)} ms idle, ${median(flooded).toFixed(2)} ms during ${median(loginRates).toFixed(1)} logins/s`,
        ),
      );
    } catch (error) {
      const reason = `failed: ${(error as Error).message}`;
      context.results.addMissing('login-flood', table, floodLabel, reason, 'ms');
      context.results.judge(notMeasured(TARGETS.loginFlood, store.database, reason));
    } finally {
      agent.destroy();
      await store.remove(FILE_NAME).catch(() => {});
    }
  }
}

/** `count` downloads one after another; their times in milliseconds. */
async function downloadLatencies(store: CloudStore, agent: Agent, count: number, size: number): Promise<number[]> {
  const url = store.fileUrl(FILE_NAME);
  const latencies: number[] = [];
  for (let index = 0; index < count; index++) {
    const elapsed = stopwatch();
    const received = await download(url, store.authorization, agent);
    latencies.push(elapsed() * 1000);
    if (received !== size) throw new Error(`a download returned ${received} bytes, not ${size}`);
  }
  return latencies;
}

function download(url: string, headers: Record<string, string>, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent, headers }, (response) => {
      let received = 0;
      response.on('data', (chunk: Buffer) => (received += chunk.length));
      response.on('end', () =>
        response.statusCode === 200 ? resolve(received) : reject(new Error(`a download answered ${response.statusCode}`)),
      );
      response.on('error', reject);
    }).on('error', reject);
  });
}

/**
 * Runs `during` while `loops` loops log the store's account in again and again; it starts once
 * every loop has had a login answered (the hashing threads are busy by then). Any answer but
 * 200 fails the run: the flood is of valid logins, which no limit may refuse.
 */
async function duringLoginFlood<T>(
  store: CloudStore,
  loops: number,
  during: () => Promise<T>,
): Promise<{ result: T; loginsPerSecond: number }> {
  const body = JSON.stringify({ username: store.username, password: store.password });
  let isStopped = false;
  let answered = 0;
  let markWarm = () => {};
  const warm = new Promise<void>((resolve) => (markWarm = resolve));
  const loop = async () => {
    while (!isStopped) {
      const response = await fetch(`${store.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`a login answered ${response.status}: ${text.slice(0, 200)}`);
      if (++answered === loops) markWarm();
    }
  };
  const running = Array.from({ length: loops }, loop);
  // Rejects when a loop fails, never resolves: raced with what waits on the flood.
  const failed = Promise.race(running).then(() => new Promise<never>(() => {}));
  failed.catch(() => {});
  try {
    await Promise.race([warm, failed]);
    const before = answered;
    const elapsed = stopwatch();
    const result = await Promise.race([during(), failed]);
    return { result, loginsPerSecond: (answered - before) / elapsed() };
  } finally {
    isStopped = true;
    await Promise.allSettled(running);
  }
}
