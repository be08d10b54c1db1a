import type { BenchContext } from '../bench-context.js';
import { hammer, type Throughput } from '../autocannon-run.js';
import { startNode1m } from '../baselines/node-1m.js';
import { interleave, median, pairedRatios, type Variant } from '../measure.js';
import { formatSize } from '../plan.js';
import { TARGETS, judge, notMeasured } from '../targets.js';
import { testFile } from '../test-files.js';

/**
 * Small requests with autocannon, our server logging at info as deployed: an authenticated
 * 4 KiB download, GET /me and a listing page, against node:http answering hello JSON.
 */

export async function runSmallRequests(context: BenchContext): Promise<void> {
  const { connections, repetitions, fileSize } = context.plan.smallRequests;
  const table = `Small requests, ${connections} connections, logging at info`;
  const hello = await startNode1m(context.runDirectory, true);
  try {
    const file = await testFile('small', fileSize);
    const details = new Map<string, Throughput[]>();
    const variant = (label: string, url: string, headers: Record<string, string> = {}): Variant => {
      details.set(label, []);
      return {
        label,
        async run() {
          const throughput = await hammer(url, headers, context.plan.smallRequests);
          details.get(label)!.push(throughput);
          return throughput.requestsPerSecond;
        },
      };
    };
    const helloVariant = variant('node:http hello JSON', `${hello.server.url}/hello`);
    const variants: Variant[] = [helloVariant];
    const downloads = new Map<string, Variant>();
    for (const store of context.cloudStores) {
      await store.rawUpload(file, 'small-request.bin');
      const download = variant(
        `cloudstore ${formatSize(fileSize)} download (${store.label})`,
        store.fileUrl('small-request.bin'),
        store.authorization,
      );
      downloads.set(store.database, download);
      variants.push(download, variant(`cloudstore GET /me (${store.label})`, `${store.url}/me`, store.authorization));
      // The sharing routes are landing as this is written: a missing route is a note, not a failure.
      const listing = await store.api('GET', '/cloud/drive-permit/');
      if (listing.status === 200) {
        variants.push(
          variant(`cloudstore GET /cloud/drive-permit/ (${store.label})`, `${store.url}/cloud/drive-permit/`, store.authorization),
        );
      } else {
        context.results.addMissing(
          'small-requests',
          table,
          `cloudstore GET /cloud/drive-permit/ (${store.label})`,
          `not measured: the route answered ${listing.status} ${String(listing.body.code ?? '')}`,
          'req/s',
        );
      }
    }
    context.progress(`small requests: ${variants.length} endpoints × ${repetitions}`);
    // An untimed run of each endpoint warms the servers up (the JIT, the connection pools).
    // Not in a quick run, whose numbers are not meant to be read.
    if (!context.plan.quick) for (const warm of variants) await warm.run(-1);
    for (const list of details.values()) list.length = 0;
    const samples = await interleave(repetitions, variants);
    for (const entry of variants) {
      const result = samples.get(entry.label)!;
      if (result.error !== undefined) {
        context.results.addMissing('small-requests', table, entry.label, `failed: ${result.error}`, 'req/s');
        continue;
      }
      const latencies = details.get(entry.label)!;
      context.results.add({
        caseId: 'small-requests',
        table,
        label: entry.label,
        unit: 'req/s',
        higherIsBetter: true,
        samples: result.samples,
        detail: `latency p50 ${median(latencies.map((item) => item.p50Ms)).toFixed(1)} ms, p99 ${median(latencies.map((item) => item.p99Ms)).toFixed(1)} ms`,
      });
      if (entry !== helloVariant && samples.get(helloVariant.label)!.error === undefined) {
        const ratios = pairedRatios(result.samples, samples.get(helloVariant.label)!.samples);
        context.results.addRatio({ caseId: 'small-requests', table, label: `${entry.label} ÷ hello`, ratios });
      }
    }
    for (const store of context.cloudStores) {
      const download = downloads.get(store.database)!;
      const result = samples.get(download.label)!;
      const helloResult = samples.get(helloVariant.label)!;
      if (result.error !== undefined || helloResult.error !== undefined) {
        context.results.judge(notMeasured(TARGETS.smallDownload, store.database, result.error ?? helloResult.error ?? ''));
        continue;
      }
      const ratio = median(pairedRatios(result.samples, helloResult.samples));
      context.results.judge(
        judge(
          TARGETS.smallDownload,
          store.database,
          ratio,
          `${Math.round(median(result.samples))} vs ${Math.round(median(helloResult.samples))} req/s`,
        ),
      );
      await store.remove('small-request.bin');
    }
  } finally {
    await hello.server.stop();
  }
}
