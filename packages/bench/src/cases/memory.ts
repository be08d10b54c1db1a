import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext } from '../bench-context.js';
import { formatSize, MiB } from '../plan.js';
import { readMemory, resetPeakRss } from '../proc-stats.js';
import { CloudStore } from '../servers/cloudstore.js';
import { mustRun } from '../subprocess.js';
import { TARGETS, judge, notMeasured } from '../targets.js';
import { prefault, testFile } from '../test-files.js';

/**
 * Server memory: a fresh instance, warmed with small transfers, idle RSS taken, then the big
 * file uploaded on the raw route, on the multipart route, and downloaded. The peak is VmHWM
 * (reset after the warm-up) and RSS sampled every 20 ms, whichever is higher.
 */
export async function runMemory(context: BenchContext): Promise<void> {
  const file = await testFile('payload', context.plan.bigSize);
  const warmup = await testFile('payload', Math.min(MiB, context.plan.bigSize));
  await prefault(file);
  const table = `Server memory, ${formatSize(file.size)} up (raw, multipart) and down`;
  for (const database of context.options.databases) {
    const unavailable = context.unavailableDatabases.get(database);
    if (unavailable !== undefined) {
      context.results.judge(notMeasured(TARGETS.serverRss, database, unavailable));
      continue;
    }
    context.progress(`memory on ${database}`);
    // A fresh server, so that no earlier case's allocations count; a quick run, which only
    // checks the harness, saves the start-up and uses the running one.
    const running = context.cloudStores.find((candidate) => candidate.database === database);
    const isFresh = !context.plan.quick || !running;
    const store = isFresh ? await CloudStore.start({ runDirectory: context.runDirectory, database, instance: 'memory' }) : running;
    try {
      await store.rawUpload(warmup, 'warm-raw');
      await store.multipartUpload(warmup, 'warm-multipart');
      await store.download('warm-raw', '/dev/null');
      // Let the allocator settle after the warm-up before taking "idle".
      await sleep(1000);
      const pid = store.server.pid;
      const isReset = resetPeakRss(pid);
      const idle = readMemory(pid)!.rssKiB / 1024;
      let sampled = idle;
      const sampler = setInterval(() => {
        const memory = readMemory(pid);
        if (memory) sampled = Math.max(sampled, memory.rssKiB / 1024);
      }, 20);
      try {
        await store.rawUpload(file, 'big-raw');
        await store.multipartUpload(file, 'big-multipart');
        await store.download('big-raw', '/dev/null');
      } finally {
        clearInterval(sampler);
      }
      const hwm = readMemory(pid)!.peakRssKiB / 1024;
      const peak = isReset ? Math.max(hwm, sampled) : sampled;
      context.results.add({
        caseId: 'memory',
        table,
        label: `idle RSS after warm-up (${store.label})`,
        unit: 'MiB',
        higherIsBetter: false,
        samples: [idle],
      });
      context.results.add({
        caseId: 'memory',
        table,
        label: `peak RSS (${store.label})`,
        unit: 'MiB',
        higherIsBetter: false,
        samples: [peak],
      });
      const how = isReset ? 'VmHWM reset after warm-up, and RSS sampled every 20 ms' : 'RSS sampled every 20 ms (VmHWM could not be reset)';
      context.results.judge(
        judge(TARGETS.serverRss, database, peak - idle, `idle ${idle.toFixed(1)} MiB, peak ${peak.toFixed(1)} MiB (${how})`),
      );
      for (const name of ['warm-raw', 'warm-multipart', 'big-raw', 'big-multipart']) await store.remove(name);
      await mustRun('sync', []);
    } finally {
      if (isFresh) await store.stop();
    }
  }
}
