import type { BenchContext } from '../bench-context.js';
import { findNginx, startNginx } from '../baselines/nginx-webdav.js';
import { startNode1m } from '../baselines/node-1m.js';
import { interleave, median, pairedRatios, type Variant, type VariantSamples } from '../measure.js';
import type { CaseId, DatabaseKind } from '../options.js';
import { startExpressMulter, startS3rver, startTus } from '../peers/peer-subjects.js';
import { formatSize, MiB } from '../plan.js';
import { describeUsage, withUsage, type Usage } from '../resource-usage.js';
import { mustRun, type ServerProcess } from '../subprocess.js';
import { prefault, testFile, type TestFile } from '../test-files.js';
import { TARGETS, judge, type TargetDefinition } from '../targets.js';
import { checkedTransfer, type TransferSubject } from '../transfer-subject.js';

/**
 * Upload (raw and multipart) and download at every transfer size: our server on each database
 * against node-1m, node-1m without hashing, nginx WebDAV and the peers, all through curl,
 * interleaved, from a prefaulted file.
 */

interface Comparison {
  subjects: TransferSubject[];
  stop(): Promise<void>;
}

type Starter = [label: string, start: () => Promise<{ server: ServerProcess; subject: TransferSubject }>];

/**
 * Starts the baselines and peers, all at once (each is a process of its own); one that cannot
 * start is a row with the reason, not a failed run.
 */
async function startComparisons(context: BenchContext, isUploading: boolean): Promise<Comparison> {
  const table = 'Baselines and peers that did not run';
  const { runDirectory } = context;
  const starters: Starter[] = [['node-1m', () => startNode1m(runDirectory, true)]];
  if (isUploading) starters.push(['node-1m-nohash', () => startNode1m(runDirectory, false)]);
  const nginx = await findNginx();
  if ('missing' in nginx) {
    context.results.addMissing('raw-upload', table, 'nginx WebDAV', `skipped: ${nginx.missing}`);
    context.results.note(`nginx WebDAV rows skipped: ${nginx.missing}.`);
  } else {
    starters.push(['nginx WebDAV', () => startNginx(nginx.binary, nginx.version, runDirectory)]);
  }
  if (context.options.withPeers) {
    starters.push(['tus', () => startTus(runDirectory)], ['Express + multer', () => startExpressMulter(runDirectory, false)]);
    if (isUploading) starters.push(['Express + multer + SHA-256', () => startExpressMulter(runDirectory, true)]);
    starters.push(['s3rver', () => startS3rver(runDirectory)]);
  } else {
    context.results.note('Peers (tus, Express + multer, s3rver) skipped: --no-peers.');
  }
  const started = await Promise.allSettled(starters.map(([, start]) => start()));
  const servers: ServerProcess[] = [];
  const subjects: TransferSubject[] = [];
  started.forEach((outcome, index) => {
    if (outcome.status === 'fulfilled') {
      servers.push(outcome.value.server);
      subjects.push(outcome.value.subject);
    } else {
      context.results.addMissing('raw-upload', table, starters[index][0], `could not start: ${(outcome.reason as Error).message}`);
    }
  });
  return {
    subjects,
    async stop() {
      await Promise.all(servers.map((server) => server.stop()));
    },
  };
}

const rate = (size: number, seconds: number) => size / MiB / seconds;

/** Deletes what a run left and flushes the page cache's dirty pages, so that no run pays for the one before it. */
async function tidy(subject: TransferSubject, name: string): Promise<void> {
  await subject.remove(name);
  await mustRun('sync', []);
}

export interface SizeResult {
  samples: Map<string, VariantSamples>;
  usages: Map<string, Usage[]>;
}

export async function measureVariants(
  context: BenchContext,
  repetitions: number,
  subjects: TransferSubject[],
  action: (subject: TransferSubject, repetition: number) => Promise<number>,
  after?: (subject: TransferSubject, repetition: number) => Promise<void>,
): Promise<SizeResult> {
  const usages = new Map<string, Usage[]>(subjects.map((subject) => [subject.label, []]));
  const variants: Variant[] = subjects.map((subject) => ({
    label: subject.label,
    async run(repetition) {
      const { result, usage } = await withUsage(subject.pid, context.device, () => action(subject, repetition));
      usages.get(subject.label)!.push(usage);
      return result;
    },
    after: after ? (repetition) => after(subject, repetition) : undefined,
  }));
  return { samples: await interleave(repetitions, variants), usages };
}

export function record(
  context: BenchContext,
  caseOf: (subject: TransferSubject) => CaseId,
  table: string,
  subjects: TransferSubject[],
  result: SizeResult,
): void {
  for (const subject of subjects) {
    const caseId = caseOf(subject);
    const samples = result.samples.get(subject.label)!;
    if (samples.error !== undefined) {
      context.results.addMissing(caseId, table, subject.label, `failed: ${samples.error}`);
      continue;
    }
    context.results.add({
      caseId,
      table,
      label: subject.label,
      unit: 'MiB/s',
      higherIsBetter: true,
      samples: samples.samples,
      detail: [describeUsage(result.usages.get(subject.label) ?? []), subject.note].filter((part) => part !== '').join('; '),
    });
  }
  for (const ours of subjects.filter((subject) => subject.role === 'ours')) {
    for (const other of subjects.filter((subject) => subject.role !== 'ours')) {
      const ratios = pairedRatios(result.samples.get(ours.label)!.samples, result.samples.get(other.label)!.samples);
      if (ratios.length > 0) context.results.addRatio({ caseId: caseOf(ours), table, label: `${ours.label} ÷ ${other.label}`, ratios });
    }
  }
}

/** The verdicts for one of our subjects at the big size. */
function judgeAgainst(
  context: BenchContext,
  ours: TransferSubject,
  database: DatabaseKind,
  others: TransferSubject[],
  result: SizeResult,
  targets: { baseline: TargetDefinition; nginx?: TargetDefinition; peers?: TargetDefinition },
  untilOnDisk?: SizeResult,
): void {
  const pairedMedian = (sizeResult: SizeResult, label: string) =>
    median(pairedRatios(sizeResult.samples.get(ours.label)!.samples, sizeResult.samples.get(label)?.samples ?? []));
  const ratioTo = (label: string) => pairedMedian(result, label);
  const ceiling = describeUsage(result.usages.get(ours.label) ?? []);
  const node = ratioTo('node-1m');
  if (Number.isFinite(node)) {
    context.results.judge(judge(targets.baseline, database, node, ceiling && `${ours.label}: ${ceiling}`));
  }
  const nginx = others.find((subject) => subject.label === 'nginx WebDAV');
  if (targets.nginx && nginx && Number.isFinite(ratioTo(nginx.label))) {
    const nginxUsage = describeUsage(result.usages.get(nginx.label) ?? []);
    context.results.judge(judge(targets.nginx, database, ratioTo(nginx.label), nginxUsage && `nginx itself: ${nginxUsage}`));
  }
  const peers = others.filter((subject) => subject.role === 'peer' && result.samples.get(subject.label)!.samples.length > 0);
  if (targets.peers && peers.length > 0) {
    const listed = (ratioOf: (label: string) => number) =>
      peers
        .map((peer) => ({ peer, ratio: ratioOf(peer.label) }))
        .sort((a, b) => a.ratio - b.ratio)
        .map(({ peer, ratio }) => `${peer.label} ${ratio.toFixed(2)}×`);
    // Judged until the bytes are on disk (issue 18); as answered where that was not measured.
    const judged = untilOnDisk ? (label: string) => pairedMedian(untilOnDisk, label) : ratioTo;
    const closest = Math.min(...peers.map((peer) => judged(peer.label)));
    const durable = untilOnDisk ? `until on disk (answer + sync): ${listed(judged).join(', ')}; ` : '';
    context.results.judge(judge(targets.peers, database, closest, `${durable}as answered: ${listed(ratioTo).join(', ')}`));
  }
}

export async function runTransfers(context: BenchContext): Promise<void> {
  const { cases } = context.options;
  const isUploading = cases.has('raw-upload') || cases.has('multipart-upload');
  const isDownloading = cases.has('download');
  if (!isUploading && !isDownloading) return;
  const comparison = await startComparisons(context, isUploading);
  try {
    const ours = context.cloudStores.flatMap((store) => [
      ...(cases.has('raw-upload') ? [{ store, subject: store.rawSubject(), route: 'raw' as const }] : []),
      ...(cases.has('multipart-upload') ? [{ store, subject: store.multipartSubject(), route: 'multipart' as const }] : []),
    ]);
    const warmup = await testFile('payload', Math.min(MiB, context.plan.transferSizes[0]));
    for (const size of context.plan.transferSizes) {
      const file = await testFile('payload', size);
      await prefault(file);
      const isBig = size === context.plan.bigSize;
      const repetitions = context.plan.repetitions(size);
      if (isUploading) {
        const subjects = [...ours.map((entry) => entry.subject), ...comparison.subjects];
        if (size === context.plan.transferSizes[0]) await warmUp(subjects, warmup);
        context.progress(`upload ${formatSize(size)}: ${subjects.length} subjects × ${repetitions}`);
        const name = (repetition: number) => `upload-${size}-${repetition}`;
        // Until on disk: the answer's time plus a sync right after it. Our server fsyncs before
        // it answers; node-1m, nginx and the peers do not, and their writeback would otherwise
        // never be counted.
        const answered = new Map<string, number>();
        const durable = new Map<string, number[]>(subjects.map((subject) => [subject.label, []]));
        const result = await measureVariants(
          context,
          repetitions,
          subjects,
          async (subject, repetition) => {
            const { seconds } = await subject.upload(file, name(repetition));
            answered.set(subject.label, seconds);
            return rate(size, seconds);
          },
          async (subject, repetition) => {
            const flush = await mustRun('sync', []);
            durable.get(subject.label)!.push(rate(size, answered.get(subject.label)! + flush.seconds));
            await tidy(subject, name(repetition));
          },
        );
        const untilOnDisk: SizeResult = {
          samples: new Map(
            subjects.map((subject) => [subject.label, { ...result.samples.get(subject.label)!, samples: durable.get(subject.label)! }]),
          ),
          usages: new Map(),
        };
        const multipartSubjects = new Set(ours.filter((entry) => entry.route === 'multipart').map((entry) => entry.subject));
        const baselineCase: CaseId = cases.has('raw-upload') ? 'raw-upload' : 'multipart-upload';
        const caseOf = (subject: TransferSubject): CaseId => (multipartSubjects.has(subject) ? 'multipart-upload' : baselineCase);
        record(context, caseOf, `Upload, ${formatSize(size)}`, subjects, result);
        record(context, caseOf, `Upload until on disk (answer + sync), ${formatSize(size)}`, subjects, untilOnDisk);
        if (isBig) {
          for (const entry of ours) {
            const targets =
              entry.route === 'raw'
                ? { baseline: TARGETS.rawUpload, nginx: TARGETS.rawUploadNginx, peers: TARGETS.rawUploadPeers }
                : { baseline: TARGETS.multipartUpload, peers: TARGETS.multipartUploadPeers };
            if (result.samples.get(entry.subject.label)!.samples.length > 0) {
              judgeAgainst(context, entry.subject, entry.store.database, comparison.subjects, result, targets, untilOnDisk);
            }
          }
        }
      }
      if (isDownloading) await measureDownloads(context, comparison, file, isBig);
    }
  } finally {
    await comparison.stop();
  }
}

/** One untimed upload per subject: JIT, connection set-up and first-use paths out of the timings. */
async function warmUp(subjects: TransferSubject[], file: TestFile): Promise<void> {
  for (const subject of subjects) {
    try {
      await subject.upload(file, 'warmup');
      await subject.remove('warmup');
    } catch {
      // A subject that fails here fails in its timed runs too, where the error is recorded.
    }
  }
}

async function measureDownloads(context: BenchContext, comparison: Comparison, file: TestFile, isBig: boolean): Promise<void> {
  const ours = context.cloudStores.map((store) => ({
    store,
    subject: { ...store.rawSubject(), label: `cloudstore (${store.label})`, note: `GET on ${store.label}, logging at info` },
  }));
  const subjects = [...ours.map((entry) => entry.subject), ...comparison.subjects.filter((subject) => subject.download !== undefined)];
  const name = `download-${file.size}`;
  const stored: TransferSubject[] = [];
  for (const subject of subjects) {
    try {
      await subject.upload(file, name);
      // One untimed download: the server's read path warm, the file in the page cache.
      checkedTransfer(await subject.download!(name, '/dev/null'), 'down', file.size);
      stored.push(subject);
    } catch (error) {
      context.results.addMissing('download', `Download, ${formatSize(file.size)}`, subject.label, `failed: ${(error as Error).message}`);
    }
  }
  const repetitions = context.plan.repetitions(file.size);
  context.progress(`download ${formatSize(file.size)}: ${stored.length} subjects × ${repetitions}`);
  const result = await measureVariants(context, repetitions, stored, async (subject) =>
    rate(file.size, checkedTransfer(await subject.download!(name, '/dev/null'), 'down', file.size).seconds),
  );
  record(context, () => 'download', `Download, ${formatSize(file.size)}`, stored, result);
  for (const subject of stored) {
    await tidy(subject, name).catch((error: Error) => context.results.note(`${subject.label} could not delete ${name}: ${error.message}`));
  }
  if (!isBig) return;
  for (const entry of ours) {
    if (stored.includes(entry.subject) && result.samples.get(entry.subject.label)!.samples.length > 0) {
      judgeAgainst(context, entry.subject, entry.store.database, stored, result, { baseline: TARGETS.download });
    }
  }
}
