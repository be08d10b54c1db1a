import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess } from '@cloudstore/test-helpers/run-process';
import type { Test } from 'tap';
import { CASE_IDS, DATABASE_KINDS, type CaseId } from '../src/options.js';
import { expectedVerdictIds } from '../src/targets.js';

/**
 * `pnpm bench --quick` runs as part of the tests so that the harness never rots: it must
 * exit 0 and print a row for every target of its cases (a row may say "not measured" and why,
 * for what this machine lacks, such as nginx; it may not be missing). The cases are split
 * among a few test files (quick-*.test.ts) that run in parallel, each well under a minute.
 */

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

interface QuickJson {
  quick: boolean;
  casesRun: string[];
  verdicts: { id: string; verdict: string; margin: string }[];
  rows: { caseId: string; label: string; missing?: string }[];
  notes: string[];
  profiles: unknown[];
}

const run = (args: string[]) => runProcess(process.execPath, [MAIN, ...args]);

/** The quick run's cases, by test file: every case in one group (checked by quick-transfers.test.ts). */
export const QUICK_GROUPS = {
  transfers: ['raw-upload', 'multipart-upload', 'download', 'hashing', 'disk-writes', 'login-flood'],
  clients: ['cli', 'claim', 'concurrent', 'small-requests'],
  memory: ['memory', 'stalled-uploads', 's3', 'profile'],
  resumable: ['resumable', 'listing'],
} as const satisfies Record<string, readonly CaseId[]>;

export const ungroupedCases = (): CaseId[] =>
  CASE_IDS.filter((id) => !Object.values(QUICK_GROUPS).some((group) => (group as readonly CaseId[]).includes(id)));

export async function checkQuickRun(t: Test, cases: readonly CaseId[]): Promise<void> {
  const directory = await mkdtemp(path.join(tmpdir(), 'cloudstore-bench-test-'));
  t.teardown(() => rm(directory, { recursive: true, force: true }));
  const report = path.join(directory, 'report.md');
  const json = path.join(directory, 'results.json');
  const started = Date.now();
  const { code, stdout, stderr } = await run(['--quick', '--only', cases.join(','), '--out', report, '--json', json]);
  t.equal(code, 0, `exit code (stderr: ${stderr.slice(-2000)})`);
  t.comment(`quick run took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  t.match(stdout, /report: /);

  const results = JSON.parse(await readFile(json, 'utf8')) as QuickJson;
  t.ok(results.quick);
  t.same([...results.casesRun].sort(), [...cases].sort(), 'every case ran');
  t.same(
    results.notes.filter((note) => /case failed/.test(note)),
    [],
    'no case failed',
  );
  const ids = results.verdicts.map((verdict) => verdict.id);
  for (const id of expectedVerdictIds(DATABASE_KINDS, cases)) t.ok(ids.includes(id), `a row for target ${id}`);
  for (const verdict of results.verdicts) {
    t.ok(['met', 'missed', 'reported', 'not measured'].includes(verdict.verdict), `${verdict.id}: ${verdict.verdict}`);
    if (verdict.verdict === 'not measured') t.not(verdict.margin, '', `${verdict.id} says why it was not measured`);
  }
  // A row that failed (rather than one skipped for something absent) means the harness broke.
  const failedRows = results.rows.filter((row) => row.missing?.startsWith('failed'));
  t.same(failedRows, [], 'no row failed');
  for (const caseId of cases.filter((id) => id !== 'profile')) {
    t.ok(
      results.rows.some((row) => row.caseId === caseId),
      `rows for ${caseId}`,
    );
  }
  if (cases.includes('profile')) t.ok(results.profiles.length > 0, 'a CPU profile summary');

  const markdown = await readFile(report, 'utf8');
  t.match(markdown, /## Targets \(issue 10\)/);
  t.match(markdown, /\*\*Quick run\*\*/);
  t.match(markdown, /## Machine/);
}
