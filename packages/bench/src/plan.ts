import type { BenchOptions } from './options.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** How big and how often: the sizes for a full run, tiny ones for `--quick`. */
export interface Plan {
  quick: boolean;
  transferSizes: number[];
  /** The single size of the CLI, memory, disk-write, claim and profile cases: the largest transfer size. */
  bigSize: number;
  repetitions(size: number): number;
  concurrentUploads: { count: number; size: number; repetitions: number };
  /** Uploads of the concurrent case's files, one after another, for the single-stream rate. */
  singleStreamUploads: number;
  /** autocannon runs: for `seconds`, or for `amount` requests when set (quick: a fixed small count is faster than autocannon's 1 s minimum). */
  smallRequests: { seconds: number; amount: number | null; connections: number; repetitions: number; fileSize: number };
  /** Downloads timed one after another, idle and during `loops` loops of logins, per repetition. */
  loginFlood: { probes: number; loops: number; repetitions: number; fileSize: number };
  listingCounts: { small: number; large: number };
  /** Sizes of the S3 case (our server on s3rver against the AWS SDK on the same s3rver); the largest is judged. */
  s3Sizes: number[];
  cliRepetitions: number;
}

export function makePlan(options: BenchOptions): Plan {
  const transferSizes = options.sizes ?? (options.quick ? [64 * KiB, MiB] : [MiB, 64 * MiB, GiB]);
  const bigSize = transferSizes[transferSizes.length - 1];
  const repetitions = (size: number): number => {
    if (options.repetitions !== null) return options.repetitions;
    if (options.quick) return 2;
    // Small transfers are noisy and cheap; 1 GiB takes seconds a run.
    if (size <= 4 * MiB) return 15;
    if (size <= 256 * MiB) return 7;
    return 5;
  };
  return {
    quick: options.quick,
    transferSizes,
    bigSize,
    repetitions,
    concurrentUploads: options.quick
      ? { count: 8, size: 128 * KiB, repetitions: options.repetitions ?? 1 }
      : { count: 64, size: 16 * MiB, repetitions: options.repetitions ?? 3 },
    singleStreamUploads: options.quick ? 4 : 8,
    smallRequests: options.quick
      ? { seconds: 1, amount: 200, connections: 4, repetitions: 1, fileSize: 4 * KiB }
      : { seconds: 4, amount: null, connections: 16, repetitions: options.repetitions ?? 3, fileSize: 4 * KiB },
    loginFlood: {
      probes: options.quick ? 20 : 300,
      loops: 8,
      repetitions: options.repetitions ?? (options.quick ? 1 : 5),
      fileSize: 4 * KiB,
    },
    listingCounts: options.quick ? { small: 100, large: 1000 } : { small: 1000, large: 1_000_000 },
    // s3rver writes every object to disk and hashes it: 1 GiB would make the case take minutes.
    s3Sizes: options.sizes ?? (options.quick ? [MiB] : [MiB, 64 * MiB, 256 * MiB]),
    cliRepetitions: options.repetitions ?? (options.quick ? 1 : 5),
  };
}

/** 1 MiB, 64 MiB, 1 GiB, 4 KiB: the way the issue writes sizes. */
export function formatSize(bytes: number): string {
  for (const [unit, factor] of [
    ['GiB', GiB],
    ['MiB', MiB],
    ['KiB', KiB],
  ] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor} ${unit}`;
  }
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return `${bytes} B`;
}
