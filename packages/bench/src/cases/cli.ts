import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BenchContext } from '../bench-context.js';
import { hasOpenssl, opensslSeconds } from '../baselines/hashing.js';
import { startByteCountingProxy } from '../byte-counting-proxy.js';
import { interleave, median, pairedRatios, stopwatch, type Variant } from '../measure.js';
import { formatSize, KiB } from '../plan.js';
import { CLI_BIN, CLI_MAIN } from '../repository-paths.js';
import type { CloudStore } from '../servers/cloudstore.js';
import { mustRun, runCommand, type CommandResult } from '../subprocess.js';
import { TARGETS, judge, notMeasured, type TargetDefinition } from '../targets.js';
import { prefault, testFile, type TestFile } from '../test-files.js';

/**
 * The CLI as a user runs it (`cloudstore put` new and duplicate, `cloudstore get`) on the big
 * file, against what the same work costs with standard tools: `openssl dgst -sha256` to hash,
 * curl to move the bytes. Times are wall clock from spawn to exit for every process here.
 */

const DUPLICATE_SENT_LIMIT = 128 * KiB;

interface CliRunner {
  run(args: string[], server?: string): Promise<CommandResult>;
}

function cliRunner(context: BenchContext, store: CloudStore, configDirectory: string): CliRunner {
  return {
    run(args, server = store.url) {
      return runCommand(process.execPath, [CLI_BIN, ...args, '--json', '--no-progress'], {
        cwd: context.runDirectory,
        env: {
          ...process.env,
          CLOUDSTORE_SERVER: server,
          CLOUDSTORE_TOKEN: store.token,
          XDG_CONFIG_HOME: configDirectory,
          HOME: configDirectory,
        },
        watchMemory: true,
      });
    },
  };
}

/** The result line of `--json`: the last line that parses as a JSON object. */
function resultLine(result: CommandResult): Record<string, unknown> {
  if (result.code !== 0) {
    const reason = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-2).join(' | ') || 'no output';
    throw new Error(`exit ${result.code}: ${reason}`);
  }
  for (const line of result.stdout.trim().split('\n').reverse()) {
    try {
      const parsed = JSON.parse(line) as unknown;
      if (parsed && typeof parsed === 'object') return parsed as Record<string, unknown>;
    } catch {
      // Not the JSON line.
    }
  }
  return {};
}

export async function runCli(context: BenchContext): Promise<void> {
  const { results } = context;
  const store = context.cloudStores.find((candidate) => candidate.database === 'sqlite') ?? context.cloudStores[0];
  const allTargets = [TARGETS.cliPutNew, TARGETS.cliPutDuplicate, TARGETS.cliGet, TARGETS.cliRss];
  const skipAll = (reason: string) => {
    for (const definition of allTargets) results.judge(notMeasured(definition, null, reason));
    results.addMissing('cli', 'CLI', 'cloudstore put / get', `not measured: ${reason}`, 's');
  };
  if (!store) return skipAll('our server did not start');
  if (!existsSync(CLI_MAIN)) return skipAll(`the CLI is not built (${path.relative(context.runDirectory, CLI_MAIN)} missing)`);
  if (!(await hasOpenssl())) return skipAll('openssl is not installed');

  const configDirectory = path.join(context.runDirectory, 'cli-config');
  const downloads = path.join(context.runDirectory, 'cli-downloads');
  await mkdir(configDirectory, { recursive: true });
  await mkdir(downloads, { recursive: true });
  const cli = cliRunner(context, store, configDirectory);

  // A tiny put and get first: a command that is missing or broken is a note, not a failed run.
  const probeFile = path.join(context.runDirectory, 'cli-probe.txt');
  await writeFile(probeFile, `probe ${Date.now()}\n`);
  const putProbe = await cli.run(['put', probeFile, '--name', 'cli-probe.txt']).then(resultLine, (error: Error) => error);
  const getProbe =
    putProbe instanceof Error
      ? putProbe
      : await cli.run(['get', 'cli-probe.txt', '-o', path.join(downloads, 'probe'), '--force']).then(resultLine, (error: Error) => error);
  await store.remove('cli-probe.txt').catch(() => {});
  const file = await testFile('payload', context.plan.bigSize);
  await prefault(file);
  const repetitions = context.plan.cliRepetitions;
  const table = `CLI, ${formatSize(file.size)}`;
  const peaks: number[] = [];
  const watch = (result: CommandResult) => {
    if (result.peakRssKiB !== null) peaks.push(result.peakRssKiB / 1024);
    return result;
  };

  if (putProbe instanceof Error) {
    const reason = `\`cloudstore put\` failed on a small file: ${putProbe.message}`;
    results.judge(notMeasured(TARGETS.cliPutNew, null, reason));
    results.judge(notMeasured(TARGETS.cliPutDuplicate, null, reason));
    results.addMissing('cli', table, 'cloudstore put', `not measured: ${reason}`, 's');
  } else {
    context.progress(`cli put ${formatSize(file.size)} new × ${repetitions}`);
    await measurePutNew(context, cli, store, file, table, repetitions, watch);
    context.progress(`cli put ${formatSize(file.size)} duplicate × ${repetitions}`);
    await measurePutDuplicate(context, cli, store, file, table, repetitions, watch);
  }

  if (getProbe instanceof Error) {
    const reason = `\`cloudstore get\` failed on a small file: ${getProbe.message}`;
    results.judge(notMeasured(TARGETS.cliGet, null, reason));
    results.addMissing('cli', table, 'cloudstore get', `not measured: ${reason}`, 's');
  } else {
    context.progress(`cli get ${formatSize(file.size)} × ${repetitions}`);
    await measureGet(context, cli, store, file, table, repetitions, downloads, watch);
  }

  if (peaks.length > 0) {
    const peak = Math.max(...peaks);
    results.add({ caseId: 'cli', table, label: 'CLI peak RSS (any command)', unit: 'MiB', higherIsBetter: false, samples: peaks });
    results.judge(judge(TARGETS.cliRss, null, peak, `highest VmHWM over ${peaks.length} CLI runs, sampled every 10 ms`));
  } else {
    results.judge(notMeasured(TARGETS.cliRss, null, 'no CLI command ran'));
  }
}

type Watch = (result: CommandResult) => CommandResult;

/**
 * Runs a tool variant and the CLI variant interleaved, records both, and returns the paired
 * ratios CLI ÷ tool; null (with the target marked not measured) when a run failed.
 */
async function compare(
  context: BenchContext,
  table: string,
  definition: TargetDefinition,
  ratioLabel: string,
  repetitions: number,
  variants: [tool: Variant, cli: Variant],
): Promise<number[] | null> {
  const samples = await interleave(repetitions, variants);
  let isComplete = true;
  for (const variant of variants) {
    const result = samples.get(variant.label)!;
    if (result.error !== undefined) {
      context.results.addMissing('cli', table, variant.label, `failed: ${result.error}`, 's');
      isComplete = false;
    } else {
      context.results.add({ caseId: 'cli', table, label: variant.label, unit: 's', higherIsBetter: false, samples: result.samples });
    }
  }
  if (!isComplete) {
    context.results.judge(notMeasured(definition, null, 'a run failed (see the CLI table)'));
    return null;
  }
  const ratios = pairedRatios(samples.get(variants[1].label)!.samples, samples.get(variants[0].label)!.samples);
  context.results.addRatio({ caseId: 'cli', table, label: ratioLabel, ratios });
  return ratios;
}

async function measurePutNew(
  context: BenchContext,
  cli: CliRunner,
  store: CloudStore,
  file: TestFile,
  table: string,
  repetitions: number,
  watch: Watch,
) {
  const name = (repetition: number) => `cli-new-${repetition}`;
  const ratios = await compare(context, table, TARGETS.cliPutNew, 'cloudstore put (new) ÷ (openssl + curl)', repetitions, [
    {
      label: 'openssl dgst + curl raw upload',
      async run(repetition) {
        const hashing = await opensslSeconds(file);
        const elapsed = stopwatch();
        await store.rawUpload(file, name(repetition));
        return hashing + elapsed();
      },
      after: (repetition) => tidy(store, name(repetition)),
    },
    {
      label: 'cloudstore put (new content)',
      async run(repetition) {
        const result = watch(await cli.run(['put', file.path, '--name', name(repetition)]));
        const line = resultLine(result);
        if (line.deduplicated === true) throw new Error('the content was already stored: not a new upload');
        return result.seconds;
      },
      after: (repetition) => tidy(store, name(repetition)),
    },
  ]);
  if (ratios) context.results.judge(judge(TARGETS.cliPutNew, null, median(ratios), `${formatSize(file.size)}, ${ratios.length} pairs`));
}

async function measurePutDuplicate(
  context: BenchContext,
  cli: CliRunner,
  store: CloudStore,
  file: TestFile,
  table: string,
  repetitions: number,
  watch: Watch,
) {
  await store.rawUpload(file, 'cli-original');
  const proxy = await startByteCountingProxy(store.url);
  const sent: number[] = [];
  const name = (repetition: number) => `cli-duplicate-${repetition}`;
  const variants: [Variant, Variant] = [
    { label: 'openssl dgst -sha256', run: () => opensslSeconds(file) },
    {
      label: 'cloudstore put (duplicate)',
      async run(repetition) {
        const before = proxy.bytesSent();
        const result = watch(await cli.run(['put', file.path, '--name', name(repetition)], proxy.url));
        sent.push(proxy.bytesSent() - before);
        if (resultLine(result).deduplicated !== true) throw new Error('the CLI uploaded the bytes instead of claiming them');
        return result.seconds;
      },
      after: (repetition) => store.remove(name(repetition)),
    },
  ];
  try {
    const ratios = await compare(context, table, TARGETS.cliPutDuplicate, 'cloudstore put (duplicate) ÷ openssl', repetitions, variants);
    if (!ratios) return;
    context.results.add({
      caseId: 'cli',
      table,
      label: 'bytes sent by a duplicate put',
      unit: 'KiB',
      higherIsBetter: false,
      samples: sent.map((bytes) => bytes / KiB),
    });
    const most = Math.max(...sent);
    context.results.judge(
      judge(TARGETS.cliPutDuplicate, null, median(ratios), `sent at most ${(most / KiB).toFixed(1)} KiB (headers included)`, {
        holds: most < DUPLICATE_SENT_LIMIT,
        text: `sent ${(most / KiB).toFixed(1)} KiB, over 128 KiB`,
      }),
    );
  } finally {
    await proxy.close();
  }
}

async function measureGet(
  context: BenchContext,
  cli: CliRunner,
  store: CloudStore,
  file: TestFile,
  table: string,
  repetitions: number,
  downloads: string,
  watch: Watch,
) {
  const hasOriginal = (await fetch(store.fileUrl('cli-original'), { method: 'HEAD', headers: store.authorization })).status === 200;
  // The duplicate case stored it, unless it did not run.
  if (!hasOriginal) await store.rawUpload(file, 'cli-original');
  const output = path.join(downloads, 'got.bin');
  const variants: [Variant, Variant] = [
    {
      label: 'curl download to a file',
      async run() {
        const elapsed = stopwatch();
        const transfer = await store.download('cli-original', output);
        if (transfer.bytesDown !== file.size) throw new Error(`curl received ${transfer.bytesDown} bytes`);
        return elapsed();
      },
      after: () => rm(output, { force: true }),
    },
    {
      label: 'cloudstore get',
      async run() {
        const result = watch(await cli.run(['get', 'cli-original', '-o', output, '--force']));
        resultLine(result);
        return result.seconds;
      },
      after: () => rm(output, { force: true }),
    },
  ];
  const ratios = await compare(context, table, TARGETS.cliGet, 'cloudstore get ÷ curl', repetitions, variants);
  await tidy(store, 'cli-original');
  if (ratios)
    context.results.judge(judge(TARGETS.cliGet, null, median(ratios), `${formatSize(file.size)} to a file, wall clock of both processes`));
}

async function tidy(store: CloudStore, name: string): Promise<void> {
  await store.remove(name);
  await mustRun('sync', []);
}
