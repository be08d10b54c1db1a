import type { BenchContext } from '../bench-context.js';
import { curlTransfers, uploadArgs } from '../curl.js';
import { interleave, median, pairedRatios, type Variant } from '../measure.js';
import { formatSize, MiB } from '../plan.js';
import { describeUsage, withUsage, type Usage } from '../resource-usage.js';
import type { CloudStore } from '../servers/cloudstore.js';
import { mustRun } from '../subprocess.js';
import { TARGETS, judge } from '../targets.js';
import { prefault, testFile, type TestFile } from '../test-files.js';

/**
 * Many uploads at once (64 × 16 MiB, each its own content) against the same kind of uploads
 * one after another, both from one curl process: aggregate MiB/s, and no upload may fail.
 */

function uploadBlock(store: CloudStore, file: TestFile, name: string): string[] {
  const headers = { ...store.authorization, 'content-type': 'application/octet-stream', 'repr-digest': file.reprDigest };
  return [...uploadArgs(file.path, 'POST', headers), '-o', '/dev/null', store.fileUrl(name)];
}

export async function runConcurrent(context: BenchContext): Promise<void> {
  const { count, size } = context.plan.concurrentUploads;
  const files: TestFile[] = [];
  for (let index = 0; index < count; index++) files.push(await testFile(`concurrent-${index}`, size));
  for (const file of files) await prefault(file);
  const single = files.slice(0, context.plan.singleStreamUploads);
  const table = `Uploads: ${count} × ${formatSize(size)} at once vs one at a time`;

  for (const store of context.cloudStores) {
    const errors: string[] = [];
    const usages = new Map<string, Usage[]>([
      ['single', []],
      ['concurrent', []],
    ]);
    const upload = async (batch: TestFile[], isParallel: boolean, key: string, repetition: number) => {
      const blocks = batch.map((file, index) => uploadBlock(store, file, `${key}-${repetition}-${index}`));
      const { result, usage } = await withUsage(store.server.pid, context.device, () => curlTransfers(blocks, isParallel));
      usages.get(key)!.push(usage);
      const failed = result.filter((transfer) => transfer.status !== 201);
      if (result.length !== batch.length) errors.push(`${batch.length - result.length} transfers unreported`);
      for (const transfer of failed) errors.push(`HTTP ${transfer.status}`);
      return (batch.length * size) / MiB / usage.seconds;
    };
    const tidy = async (batch: TestFile[], key: string, repetition: number) => {
      for (let index = 0; index < batch.length; index++) await store.remove(`${key}-${repetition}-${index}`).catch(() => {});
      await mustRun('sync', []);
    };
    const variants: Variant[] = [
      {
        label: `one at a time (${single.length} uploads, ${store.label})`,
        run: (repetition) => upload(single, false, 'single', repetition),
        after: (repetition) => tidy(single, 'single', repetition),
      },
      {
        label: `${count} at once (${store.label})`,
        run: (repetition) => upload(files, true, 'concurrent', repetition),
        after: (repetition) => tidy(files, 'concurrent', repetition),
      },
    ];
    const repetitions = context.plan.concurrentUploads.repetitions;
    context.progress(`concurrent ${count} × ${formatSize(size)} on ${store.label} × ${repetitions}`);
    const samples = await interleave(repetitions, variants);
    let isComplete = true;
    for (const [index, variant] of variants.entries()) {
      const result = samples.get(variant.label)!;
      if (result.error !== undefined) {
        context.results.addMissing('concurrent', table, variant.label, `failed: ${result.error}`);
        isComplete = false;
        continue;
      }
      const usage = describeUsage(usages.get(index === 0 ? 'single' : 'concurrent')!);
      context.results.add({
        caseId: 'concurrent',
        table,
        label: variant.label,
        unit: 'MiB/s',
        higherIsBetter: true,
        samples: result.samples,
        detail: usage,
      });
    }
    if (errors.length > 0) {
      const logged = [...new Set(await store.loggedErrors())].slice(0, 3);
      context.results.note(
        `${errors.length} of the concurrent uploads on ${store.label} failed (${[...new Set(errors)].join(', ')}); ` +
          `the server logged: ${logged.length > 0 ? logged.join(' | ') : 'no error'}.`,
      );
    }
    if (!isComplete) continue;
    const ratios = pairedRatios(samples.get(variants[1].label)!.samples, samples.get(variants[0].label)!.samples);
    context.results.addRatio({ caseId: 'concurrent', table, label: `${count} at once ÷ one at a time (${store.label})`, ratios });
    context.results.judge(
      judge(
        TARGETS.concurrent,
        store.database,
        median(ratios),
        `${count} × ${formatSize(size)}; ${describeUsage(usages.get('concurrent')!)}`,
        {
          holds: errors.length === 0,
          text: `${errors.length} failed uploads (${[...new Set(errors)].slice(0, 3).join(', ')})`,
        },
      ),
    );
  }
}
