import type { BenchContext } from '../bench-context.js';
import { hasOpenssl, loadIntoMemory, opensslSeconds, sha256InMemorySeconds } from '../baselines/hashing.js';
import { interleave, type Variant } from '../measure.js';
import { formatSize, MiB } from '../plan.js';
import { prefault, testFile } from '../test-files.js';

/** SHA-256 of the big file: crypto on the bytes in memory, and openssl on the file, side by side. */
export async function runHashing(context: BenchContext): Promise<void> {
  const file = await testFile('payload', context.plan.bigSize);
  await prefault(file);
  const content = await loadIntoMemory(file);
  const table = `Hashing, ${formatSize(file.size)}`;
  const variants: Variant[] = [
    { label: 'SHA-256 in memory (node:crypto)', run: async () => file.size / MiB / sha256InMemorySeconds(content, file) },
  ];
  if (await hasOpenssl()) {
    variants.push({ label: 'openssl dgst -sha256 (file)', run: async () => file.size / MiB / (await opensslSeconds(file)) });
  } else {
    context.results.addMissing('hashing', table, 'openssl dgst -sha256 (file)', 'skipped: openssl is not installed');
  }
  const repetitions = context.plan.repetitions(file.size);
  context.progress(`hashing ${formatSize(file.size)} × ${repetitions}`);
  const samples = await interleave(repetitions, variants);
  for (const variant of variants) {
    const result = samples.get(variant.label)!;
    if (result.error !== undefined) context.results.addMissing('hashing', table, variant.label, `failed: ${result.error}`);
    else
      context.results.add({ caseId: 'hashing', table, label: variant.label, unit: 'MiB/s', higherIsBetter: true, samples: result.samples });
  }
}
