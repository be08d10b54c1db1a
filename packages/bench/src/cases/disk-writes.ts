import type { BenchContext } from '../bench-context.js';
import { median } from '../measure.js';
import { formatSize } from '../plan.js';
import { diskCounters, writtenBytes } from '../proc-stats.js';
import { mariadbPid } from '../servers/mariadb.js';
import { mustRun } from '../subprocess.js';
import { TARGETS, judge, notMeasured } from '../targets.js';
import { prefault, testFile } from '../test-files.js';

/**
 * Disk bytes written per uploaded byte: /proc/PID/io write_bytes of the server (plus
 * mariadbd's on MariaDB) across one big upload per route, after a sync so that nothing
 * earlier is flushed inside the window. The device's own counter is printed beside it as a
 * cross-check; it also sees the journal and whatever else the machine wrote meanwhile.
 */
export async function runDiskWrites(context: BenchContext): Promise<void> {
  const file = await testFile('payload', context.plan.bigSize);
  await prefault(file);
  const table = `Disk bytes written per uploaded byte, ${formatSize(file.size)}`;
  const repetitions = context.plan.quick ? 1 : 2;
  for (const store of context.cloudStores) {
    const database = store.database === 'mariadb' ? await mariadbPid() : null;
    const perRoute: number[] = [];
    for (const route of ['raw', 'multipart'] as const) {
      const server: number[] = [];
      const device: number[] = [];
      for (let repetition = 0; repetition < repetitions; repetition++) {
        const name = `disk-${route}-${repetition}`;
        await mustRun('sync', []);
        const serverBefore = (writtenBytes(store.server.pid) ?? Number.NaN) + (database === null ? 0 : (writtenBytes(database) ?? 0));
        const deviceBefore = context.device === null ? null : diskCounters(context.device);
        await (route === 'raw' ? store.rawUpload(file, name) : store.multipartUpload(file, name));
        // The server fsynced the content; sync flushes what it left to the kernel (SQLite's WAL, directory entries).
        await mustRun('sync', []);
        const serverAfter = (writtenBytes(store.server.pid) ?? Number.NaN) + (database === null ? 0 : (writtenBytes(database) ?? 0));
        const deviceAfter = context.device === null ? null : diskCounters(context.device);
        server.push((serverAfter - serverBefore) / file.size);
        if (deviceBefore && deviceAfter) device.push((deviceAfter.bytesWritten - deviceBefore.bytesWritten) / file.size);
        await store.remove(name);
      }
      const who = database === null ? 'server process' : 'server + mariadbd';
      context.results.add({
        caseId: 'disk-writes',
        table,
        label: `${route} upload, ${who} (${store.label})`,
        unit: 'B/B',
        higherIsBetter: false,
        samples: server,
      });
      if (device.length > 0) {
        context.results.add({
          caseId: 'disk-writes',
          table,
          label: `${route} upload, whole device ${context.device} (${store.label})`,
          unit: 'B/B',
          higherIsBetter: false,
          samples: device,
        });
      }
      perRoute.push(median(server));
    }
    await mustRun('sync', []);
    if (perRoute.some((value) => !Number.isFinite(value))) {
      context.results.judge(notMeasured(TARGETS.diskWrites, store.database, '/proc/PID/io is not readable here'));
      continue;
    }
    context.results.judge(
      judge(
        TARGETS.diskWrites,
        store.database,
        Math.max(...perRoute),
        `raw ${perRoute[0].toFixed(3)}, multipart ${perRoute[1].toFixed(3)} (the worse is judged)`,
      ),
    );
  }
}
