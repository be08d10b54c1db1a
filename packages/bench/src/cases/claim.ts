import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { BenchContext } from '../bench-context.js';
import { interleave, stopwatch, type Variant } from '../measure.js';
import { formatSize, MiB } from '../plan.js';
import type { CloudStore } from '../servers/cloudstore.js';
import { testFile, type TestFile } from '../test-files.js';

/**
 * The claim round trip (API.md, "Claim by digest"): challenge, proof from the local file,
 * file recorded, in-process with fetch, for content the account already holds. 1 MiB is
 * challenged whole; larger content by 16 ranges of 4 KiB.
 */

interface Challenge {
  nonce: string;
  ranges: [number, number][];
}

async function proofDigest(file: TestFile, challenge: Challenge): Promise<string> {
  const hash = createHash('sha256').update(challenge.nonce, 'utf8');
  const handle = await open(file.path, 'r');
  try {
    for (const [offset, length] of challenge.ranges) {
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** Both rounds; returns milliseconds. */
async function claimOnce(store: CloudStore, file: TestFile, filename: string): Promise<number> {
  const elapsed = stopwatch();
  const claim = { filename, sha256: file.sha256, size: file.size };
  const first = await store.api('POST', '/cloud/my-drive/', claim);
  if (first.status !== 428) throw new Error(`round 1 answered ${first.status} ${String(first.body.code ?? '')}, not 428`);
  const challenge = first.body.challenge as Challenge;
  const proof = { nonce: challenge.nonce, digest: await proofDigest(file, challenge) };
  const second = await store.api('POST', '/cloud/my-drive/', { ...claim, proof });
  if (second.status !== 201) throw new Error(`round 2 answered ${second.status} ${String(second.body.code ?? '')}, not 201`);
  return elapsed() * 1000;
}

export async function runClaim(context: BenchContext): Promise<void> {
  const sizes = [...new Set([Math.min(MiB, context.plan.bigSize), context.plan.bigSize])];
  for (const size of sizes) {
    const file = await testFile('payload', size);
    const table = `Claim round trip, ${formatSize(size)}`;
    for (const store of context.cloudStores) await store.rawUpload(file, `claim-source-${size}`);
    const variants: Variant[] = context.cloudStores.map((store) => ({
      label: `cloudstore claim (${store.label})`,
      run: (repetition) => claimOnce(store, file, `claimed-${size}-${repetition}`),
      after: (repetition) => store.remove(`claimed-${size}-${repetition}`),
    }));
    // A claim costs milliseconds: many repetitions are cheap and steady the median.
    const repetitions = context.plan.quick ? 3 : 25;
    context.progress(`claim ${formatSize(size)} × ${repetitions}`);
    const samples = await interleave(repetitions, variants);
    for (const variant of variants) {
      const result = samples.get(variant.label)!;
      if (result.error !== undefined) context.results.addMissing('claim', table, variant.label, `failed: ${result.error}`, 'ms');
      else
        context.results.add({ caseId: 'claim', table, label: variant.label, unit: 'ms', higherIsBetter: false, samples: result.samples });
    }
    for (const store of context.cloudStores) await store.remove(`claim-source-${size}`);
  }
}
