import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BenchContext } from './bench-context.js';
import { runCli } from './cases/cli.js';
import { runClaim } from './cases/claim.js';
import { runConcurrent } from './cases/concurrent.js';
import { runDiskWrites } from './cases/disk-writes.js';
import { runResumable } from './cases/resumable.js';
import { runHashing } from './cases/hashing.js';
import { runListing } from './cases/listing.js';
import { runLoginFlood } from './cases/login-flood.js';
import { runMemory } from './cases/memory.js';
import { runProfile } from './cases/profile.js';
import { runSmallRequests } from './cases/small-requests.js';
import { runS3 } from './cases/s3.js';
import { runStalledUploads } from './cases/stalled-uploads.js';
import { runTransfers } from './cases/transfers.js';
import { describeMachine, LoadMonitor } from './machine.js';
import { CASE_IDS, parseOptions, UsageError, type BenchOptions, type CaseId } from './options.js';
import { makePlan } from './plan.js';
import { blockDeviceOf } from './proc-stats.js';
import { formatTargetValue, renderReport } from './report.js';
import { PERFORMANCE_REPORT } from './repository-paths.js';
import { median } from './measure.js';
import { Results, summarize } from './results.js';
import { CloudStore } from './servers/cloudstore.js';
import { mariadbUnavailableReason } from './servers/mariadb.js';
import { runCommand } from './subprocess.js';
import { notMeasured, TARGETS, verdictId, type TargetVerdict } from './targets.js';
import { FILE_CACHE_DIRECTORY } from './test-files.js';

/** `pnpm bench`: starts what it measures, runs the selected cases, writes the report. */

type CaseRunner = (context: BenchContext) => Promise<void>;

/** In this order: transfers first, on a machine not yet warmed by the concurrent case. */
const RUNNERS: [CaseId[], CaseRunner][] = [
  [['hashing'], runHashing],
  [['raw-upload', 'multipart-upload', 'download'], runTransfers],
  [['cli'], runCli],
  [['claim'], runClaim],
  [['concurrent'], runConcurrent],
  [['small-requests'], runSmallRequests],
  [['login-flood'], runLoginFlood],
  [['memory'], runMemory],
  [['stalled-uploads'], runStalledUploads],
  [['s3'], runS3],
  [['disk-writes'], runDiskWrites],
  [['resumable'], runResumable],
  [['listing'], runListing],
  [['profile'], runProfile],
];

function isStandardFullRun(options: BenchOptions): boolean {
  return (
    !options.quick && options.cases.size === CASE_IDS.length && options.sizes === null && options.repetitions === null && options.withPeers
  );
}

async function startCloudStores(context: BenchContext): Promise<void> {
  for (const database of context.options.databases) {
    if (database === 'mariadb') {
      const reason = await mariadbUnavailableReason();
      if (reason !== null) {
        context.unavailableDatabases.set(database, reason);
        context.results.note(`${reason}: the MariaDB rows are not measured.`);
        continue;
      }
    }
    try {
      context.cloudStores.push(await CloudStore.start({ runDirectory: context.runDirectory, database, instance: 'main' }));
    } catch (error) {
      const reason = `our server did not start on ${database}: ${(error as Error).message}`;
      context.unavailableDatabases.set(database, reason);
      context.results.note(reason);
      process.exitCode = 1;
    }
  }
}

/** Every target of the cases run gets a row; one without a verdict says why. */
function completeVerdicts(context: BenchContext, failures: Map<CaseId, string>): TargetVerdict[] {
  const verdicts: TargetVerdict[] = [];
  for (const definition of Object.values(TARGETS)) {
    if (!context.options.cases.has(definition.caseId)) continue;
    const databases = definition.perDatabase ? context.options.databases : [null];
    for (const database of databases) {
      const id = verdictId(definition, database);
      const found = context.results.verdicts.find((verdict) => verdict.id === id);
      if (found) {
        verdicts.push(found);
        continue;
      }
      const reason =
        (database && context.unavailableDatabases.get(database)) ??
        failures.get(definition.caseId) ??
        'no result: a subject it compares with was not measured (see the rows below)';
      verdicts.push(notMeasured(definition, database, reason));
    }
  }
  return verdicts;
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      return process.argv.includes('--help') ? 0 : 2;
    }
    throw error;
  }
  const curlCheck = await runCommand('curl', ['--version']).catch(() => null);
  if (curlCheck?.code !== 0) {
    process.stderr.write('bench: curl is required (apt-get install curl)\n');
    return 1;
  }

  const started = Date.now();
  const plan = makePlan(options);
  const runDirectory = await mkdtemp(path.join(tmpdir(), 'cloudstore-bench-run-'));
  const device = blockDeviceOf(runDirectory);
  const monitor = new LoadMonitor();
  const context: BenchContext = {
    options,
    plan,
    results: new Results(),
    runDirectory,
    cloudStores: [],
    unavailableDatabases: new Map(),
    device,
    progress: (message) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`),
  };
  const failures = new Map<CaseId, string>();
  try {
    context.progress(`run directory ${runDirectory}, test files in ${FILE_CACHE_DIRECTORY}`);
    await startCloudStores(context);
    for (const [caseIds, run] of RUNNERS) {
      const selected = caseIds.filter((caseId) => options.cases.has(caseId));
      if (selected.length === 0) continue;
      try {
        await run(context);
        for (const caseId of selected) context.results.casesRun.add(caseId);
      } catch (error) {
        const message = `the ${selected.join('/')} case failed: ${(error as Error).stack ?? String(error)}`;
        process.stderr.write(`bench: ${message}\n`);
        context.results.note(`The ${selected.join('/')} case failed: ${(error as Error).message}`);
        for (const caseId of selected) failures.set(caseId, `the case failed: ${(error as Error).message}`);
        process.exitCode = 1;
      }
    }
  } finally {
    for (const store of context.cloudStores) await store.stop().catch(() => {});
  }

  const load = monitor.stop();
  const machine = describeMachine(runDirectory, device);
  const command = `pnpm bench${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
  const verdicts = completeVerdicts(context, failures);
  const report = renderReport(
    { options, plan, results: context.results, machine, load, minutes: (Date.now() - started) / 60_000, command },
    verdicts,
  );
  const out = options.out ?? (isStandardFullRun(options) ? PERFORMANCE_REPORT : path.join(tmpdir(), `cloudstore-bench-${Date.now()}.md`));
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, report);
  if (options.json !== null) {
    const json = {
      machine,
      load,
      quick: options.quick,
      casesRun: [...context.results.casesRun],
      verdicts: verdicts.map(({ definition, ...verdict }) => ({ ...verdict, title: definition.title, caseId: definition.caseId })),
      rows: context.results.rows.map((row) => ({ ...row, ...(row.samples.length > 0 ? summarize(row) : {}) })),
      ratios: context.results.ratios.map((ratio) => ({ ...ratio, median: median(ratio.ratios) })),
      notes: context.results.notes,
      profiles: context.results.profiles,
    };
    await writeFile(options.json, JSON.stringify(json, null, 2));
  }
  if (!options.keepRunDirectory) await rm(runDirectory, { recursive: true, force: true });
  process.stdout.write(`${summaryLines(verdicts).join('\n')}\nreport: ${out}\n`);
  return Number(process.exitCode ?? 0);
}

function summaryLines(verdicts: TargetVerdict[]): string[] {
  return verdicts.map((verdict) => {
    const value = verdict.value === null ? '—' : formatTargetValue(verdict.value, verdict.definition.unit);
    return `${verdict.verdict.padEnd(12)} ${verdict.id.padEnd(34)} ${value.padStart(9)}  ${verdict.margin}`;
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
