import { median } from './measure.js';
import type { MachineDescription, OtherLoad } from './machine.js';
import type { BenchOptions } from './options.js';
import { formatSize, type Plan } from './plan.js';
import { summarize, type Results, type Row, type Unit } from './results.js';
import type { TargetVerdict } from './targets.js';

/** docs/PERFORMANCE.md: targets first, then ratios, then absolutes, then the profile. */

export interface ReportInput {
  options: BenchOptions;
  plan: Plan;
  results: Results;
  machine: MachineDescription;
  load: OtherLoad;
  minutes: number;
  command: string;
}

function formatValue(value: number, unit: Unit | '×'): string {
  if (!Number.isFinite(value)) return '—';
  switch (unit) {
    case '×':
      return `${value.toFixed(2)}×`;
    case 'B/B':
      return value.toFixed(3);
    case 'req/s':
    case 'MiB/s':
      return value >= 100 ? Math.round(value).toLocaleString('en') : value.toFixed(1);
    case 's':
      return value.toFixed(2);
    case 'ms':
      return value >= 100 ? value.toFixed(0) : value.toFixed(1);
    default:
      return value.toFixed(1);
  }
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}

/** A target's value as the report prints it: 1.23×, 40.1 MiB, 1.002 (bytes per byte). */
export function formatTargetValue(value: number, unit: TargetVerdict['definition']['unit']): string {
  if (unit === '×') return formatValue(value, '×');
  if (unit === 'B/B') return formatValue(value, 'B/B');
  return `${value.toFixed(1)} MiB`;
}

function bar(verdict: TargetVerdict): string {
  const { comparison, threshold, unit } = verdict.definition;
  if (comparison === 'report') return 'reported';
  const value = unit === '×' ? `${threshold}×` : unit === 'MiB' ? `${threshold} MiB` : String(threshold);
  return comparison === 'at-least' ? `≥ ${value}` : `≤ ${value}`;
}

function measured(verdict: TargetVerdict): string {
  return verdict.value === null ? '—' : formatTargetValue(verdict.value, verdict.definition.unit);
}

/** Names the saturated resource from a usage description, when one is. */
function ceiling(detail: string): string {
  const found: string[] = [];
  const server = /server (\d+) % of a core/.exec(detail);
  const main = /main thread (\d+) %/.exec(detail);
  const other = /busiest other thread (\d+) %/.exec(detail);
  const client = /client (\d+) %/.exec(detail);
  const disk = /disk busy (\d+) %/.exec(detail);
  if (server && Number(server[1]) >= 180) found.push('the server uses both cores');
  if (main && Number(main[1]) >= 90) found.push('the server’s main thread is saturated');
  if (other && Number(other[1]) >= 90) found.push('a server worker thread is saturated');
  if (client && Number(client[1]) >= 90) found.push('the client (curl) has a core saturated');
  if (disk && Number(disk[1]) >= 90) found.push('the disk is saturated');
  return found.length > 0 ? ` Ceiling: ${found.join('; ')}.` : '';
}

const VERDICT_MARK: Record<TargetVerdict['verdict'], string> = {
  met: '**met**',
  missed: '**missed**',
  reported: 'reported',
  'not measured': 'not measured',
};

function targetsSection(input: ReportInput, verdicts: TargetVerdict[]): string {
  const rows = verdicts.map((verdict) => [
    verdict.definition.title + (verdict.database ? ` — ${verdict.database === 'sqlite' ? 'SQLite' : 'MariaDB'}` : ''),
    bar(verdict),
    measured(verdict),
    VERDICT_MARK[verdict.verdict],
    verdict.margin,
    verdict.detail + ceiling(verdict.detail),
  ]);
  const bigSize = formatSize(input.plan.bigSize);
  return [
    '## Targets (issue 10)',
    '',
    `The big file is ${bigSize}. Ratios are medians of paired runs (run i of one subject over run i of the other, ` +
      'taken back to back); "margin" is measured minus the bar. Server and client CPU are shares of one core ' +
      '(the server’s with every thread, then its main thread and its busiest other thread), disk busy is the share ' +
      'of time the device had I/O in flight, all medians over the runs. The peer targets are judged on the time ' +
      'until the bytes are on disk (answer + sync), as issue 18 defines the fair comparison: the peers answer ' +
      'before their data is durable and ours after an fsync. The ratios as answered are printed beside them.',
    '',
    table(['target', 'bar', 'measured', 'verdict', 'margin', 'where the time went'], rows),
  ].join('\n');
}

function ratiosSection(results: Results): string {
  if (results.ratios.length === 0) return '';
  const byTable = new Map<string, typeof results.ratios>();
  for (const ratio of results.ratios) byTable.set(ratio.table, [...(byTable.get(ratio.table) ?? []), ratio]);
  const parts = ['## Ratios (medians of paired runs)', ''];
  for (const [name, ratios] of byTable) {
    parts.push(`### ${name}`, '');
    parts.push(
      table(
        ['pair', 'median', 'range', 'pairs'],
        ratios.map((ratio) => [
          ratio.label,
          formatValue(median(ratio.ratios), '×'),
          `${formatValue(Math.min(...ratio.ratios), '×')} – ${formatValue(Math.max(...ratio.ratios), '×')}`,
          String(ratio.ratios.length),
        ]),
      ),
      '',
    );
  }
  return parts.join('\n');
}

function absolutesSection(results: Results): string {
  const byTable = new Map<string, Row[]>();
  for (const row of results.rows) byTable.set(row.table, [...(byTable.get(row.table) ?? []), row]);
  const parts = ['## Absolutes', '', 'Median and worst (lowest rate, highest time) of the runs of each row.', ''];
  for (const [name, rows] of byTable) {
    parts.push(`### ${name}`, '');
    parts.push(
      table(
        ['subject', 'median', 'worst', 'unit', 'runs', 'notes'],
        rows.map((row) => {
          if (row.missing !== undefined) return [row.label, '—', '—', row.unit, '0', row.missing];
          const { median: middle, worst } = summarize(row);
          return [
            row.label,
            formatValue(middle, row.unit),
            formatValue(worst, row.unit),
            row.unit,
            String(row.samples.length),
            row.detail ?? '',
          ];
        }),
      ),
      '',
    );
  }
  return parts.join('\n');
}

function profileSection(results: Results): string {
  if (results.profiles.length === 0) return '';
  const parts = [
    '## Where the server spends its time (`node --cpu-prof`)',
    '',
    'Self time of the top functions of a fresh server (embedded database) in each phase. `(idle)` is the ' +
      'thread waiting (for the socket, the disk or fsync); `(program)` is native work outside JavaScript ' +
      '(socket reads, copies); `(garbage collector)` is GC.',
    '',
  ];
  for (const profile of results.profiles) {
    parts.push(`### ${profile.title} — ${(profile.totalMs / 1000).toFixed(2)} s sampled`, '');
    parts.push(
      table(
        ['function', 'where', 'self ms', 'share'],
        profile.top.map((entry) => [entry.name, entry.where, entry.selfMs.toFixed(0), `${(entry.share * 100).toFixed(1)} %`]),
      ),
      '',
    );
  }
  return parts.join('\n');
}

function machineSection(input: ReportInput): string {
  const { machine, load } = input;
  const others = load.top
    .filter((entry) => entry.cores >= 0.01)
    .map((entry) => `${entry.name} ${entry.cores.toFixed(2)}`)
    .join(', ');
  return [
    '## Machine',
    '',
    table(
      ['', ''],
      [
        ['CPU', `${machine.cpu}, ${machine.cores} cores (${machine.cpuFlags})`],
        ['Memory', machine.memory],
        ['Disk (test files and servers’ data)', machine.disk],
        ['Node.js', machine.node],
        ['Kernel', machine.kernel],
        ['Date', machine.date],
        [
          'Other load during the run',
          `${load.meanCores.toFixed(2)} cores on average, ${load.peakCores.toFixed(2)} at most over 5 s` +
            `${others ? ` (${others})` : ''}; load average ${load.loadAverageAtStart.toFixed(2)} at start, ${load.loadAverageAtEnd.toFixed(2)} at the end`,
        ],
      ],
    ),
  ].join('\n');
}

function methodSection(input: ReportInput): string {
  const sizes = input.plan.transferSizes.map(formatSize).join(', ');
  return [
    '## How these numbers are taken',
    '',
    `- Every server is its own process: ours is \`node packages/server/dist/src/main.js\` (port 0, logging at info into a file), ` +
      'on the embedded SQLite and on MariaDB (a database of its own, dropped afterwards); the baselines and peers are started by the harness.',
    `- Transfers (${sizes}) go through curl for every subject (its \`time_total\`), from files in the page cache ` +
      '(read once before the timings; incompressible, reproducible content kept in the system temp directory). ' +
      'Uploads are verified (our server checks the SHA-256 it is sent; node-1m and multer + SHA-256 return the digest, compared) and fsynced where the subject fsyncs. ' +
      'Downloads go to /dev/null and must deliver every byte.',
    '- Repetitions are interleaved (A, B, C, then B, C, A …); after each upload `sync` is run and timed, then the file is deleted ' +
      'and `sync` run again, untimed, so that no run pays for the dirty pages of the one before. "Upload" rows are the time until ' +
      'the answer; "until on disk" rows add that first sync, which is what the subjects that never fsync (node-1m, nginx, tus, multer, s3rver) ' +
      'leave to the kernel; the sync is machine-wide, so other processes’ dirty pages count there too.',
    '- The CLI rows time processes from spawn to exit (node start-up included), against `openssl dgst -sha256` and curl timed the same way.',
    '- Small requests: autocannon in the harness process, after an untimed run of each endpoint.',
    '- Memory: /proc/PID/status (VmHWM reset through clear_refs after a warm-up, and VmRSS sampled every 20 ms). Disk writes: /proc/PID/io write_bytes.',
    `- Rerun: \`${input.command}\`. One case: \`pnpm bench --only raw-upload --size 1G --db sqlite\`; see \`pnpm bench --help\`.`,
  ].join('\n');
}

export function renderReport(input: ReportInput, expectedVerdicts: TargetVerdict[]): string {
  const { results } = input;
  const header = [
    '# CloudStore performance',
    '',
    `Generated by \`${input.command}\` on ${input.machine.date} in ${input.minutes.toFixed(1)} minutes. ` +
      'Do not edit by hand: rerun the harness (packages/bench). What was measured by hand (profiles, the ' +
      'ceilings of the missed targets, the S3 and resumable investigations) is in ' +
      '[PERFORMANCE-NOTES.md](PERFORMANCE-NOTES.md).',
  ];
  if (input.plan.quick)
    header.push(
      '',
      '**Quick run**: tiny sizes and one or two repetitions. These numbers check that the harness works; they say nothing about performance.',
    );
  const notes = results.notes.length > 0 ? ['## Notes', '', ...results.notes.map((note) => `- ${note}`)].join('\n') : '';
  return (
    [
      header.join('\n'),
      machineSection(input),
      targetsSection(input, expectedVerdicts),
      notes,
      ratiosSection(results),
      absolutesSection(results),
      profileSection(results),
      methodSection(input),
    ]
      .filter((section) => section !== '')
      .join('\n\n') + '\n'
  );
}
