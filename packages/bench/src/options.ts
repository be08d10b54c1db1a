import { parseArgs } from 'node:util';

/** The cases a run can be narrowed to with `--only`. */
export const CASE_IDS = [
  'raw-upload',
  'multipart-upload',
  'download',
  'hashing',
  'cli',
  'claim',
  'concurrent',
  'small-requests',
  'login-flood',
  'memory',
  'stalled-uploads',
  's3',
  'listing',
  'disk-writes',
  'resumable',
  'profile',
] as const;
export type CaseId = (typeof CASE_IDS)[number];

export const DATABASE_KINDS = ['sqlite', 'mariadb'] as const;
export type DatabaseKind = (typeof DATABASE_KINDS)[number];

export interface BenchOptions {
  quick: boolean;
  cases: Set<CaseId>;
  /** Transfer sizes in bytes, replacing the plan's (the largest is the "big" size of every case). */
  sizes: number[] | null;
  repetitions: number | null;
  databases: DatabaseKind[];
  withPeers: boolean;
  /** Where the Markdown report goes; null: the plan's default (docs/PERFORMANCE.md, or a temp file). */
  out: string | null;
  /** Where the results go as JSON, for the quick test and for scripts. */
  json: string | null;
  keepRunDirectory: boolean;
}

export class UsageError extends Error {}

export const USAGE = `usage: pnpm bench [--quick] [--only CASE,…] [--size SIZE,…] [--reps N] [--db sqlite|mariadb]
                  [--no-peers] [--out FILE] [--json FILE] [--keep]
  --quick      tiny sizes, one or two repetitions, well under a minute; writes to a temp file, never docs/
  --only       cases: ${CASE_IDS.join(', ')}
  --size       transfer sizes such as 256M or 1M,64M,1G (the largest is used by the single-size cases)
  --reps       repetitions of every timed case
  --db         run our server on this database only (default: both, MariaDB when reachable)
  --no-peers   skip tus, Express + multer and s3rver (baselines still run)
  --out        the Markdown report (default docs/PERFORMANCE.md for a full run of every case)
  --json       also write every measurement as JSON
  --keep       keep the run's temporary directory (server logs, data) for inspection`;

/** Parses `pnpm bench` flags; throws UsageError with a message fit for the terminal. */
export function parseOptions(argv: string[]): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        size: { type: 'string' },
        reps: { type: 'string' },
        db: { type: 'string' },
        'no-peers': { type: 'boolean', default: false },
        out: { type: 'string' },
        json: { type: 'string' },
        keep: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
  const { values } = parsed;
  if (values.help) throw new UsageError(USAGE);

  const cases = new Set<CaseId>(CASE_IDS);
  if (values.only !== undefined) {
    cases.clear();
    for (const name of listOf(values.only)) {
      if (!(CASE_IDS as readonly string[]).includes(name)) throw new UsageError(`unknown case '${name}'\n${USAGE}`);
      cases.add(name as CaseId);
    }
  }
  let databases: DatabaseKind[] = [...DATABASE_KINDS];
  if (values.db !== undefined) {
    if (!(DATABASE_KINDS as readonly string[]).includes(values.db)) throw new UsageError(`--db must be sqlite or mariadb\n${USAGE}`);
    databases = [values.db as DatabaseKind];
  }
  let repetitions: number | null = null;
  if (values.reps !== undefined) {
    if (!/^[1-9][0-9]*$/.test(values.reps)) throw new UsageError(`--reps must be a whole number from 1\n${USAGE}`);
    repetitions = Number(values.reps);
  }
  return {
    quick: values.quick,
    cases,
    sizes:
      values.size === undefined
        ? null
        : listOf(values.size)
            .map(parseSize)
            .sort((a, b) => a - b),
    repetitions,
    databases,
    withPeers: !values['no-peers'],
    out: values.out ?? null,
    json: values.json ?? null,
    keepRunDirectory: values.keep,
  };
}

function listOf(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** `4K`, `64M`, `1G` (binary units, as the sizes are), or a number of bytes. */
export function parseSize(text: string): number {
  const match = /^([0-9]+)\s*([KMG]?)(?:i?B)?$/i.exec(text.trim());
  if (!match || Number(match[1]) === 0) throw new UsageError(`'${text}' is not a size such as 4K, 64M or 1G`);
  return Number(match[1]) * UNITS[match[2].toUpperCase()];
}
