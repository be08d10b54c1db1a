import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/open.js';
import { StatsRepository, type StorageStats } from '../repositories/stats.js';

const USAGE = 'usage: pnpm admin stats [--json]';

/** `pnpm admin stats [--json]`: what the server holds, and how much deduplication saves. */
async function main(): Promise<number> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { json: { type: 'boolean' } } });
  if (positionals.length !== 1 || positionals[0] !== 'stats') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const db = await openDatabase(loadConfig());
  try {
    const stats = await new StatsRepository(db).storage();
    process.stdout.write(values.json ? `${JSON.stringify(asJson(stats))}\n` : humanReport(stats));
    return 0;
  } finally {
    await db.destroy();
  }
}

/** Logical bytes per physical byte; null while nothing is stored. */
const ratio = (stats: StorageStats) => (stats.physicalBytes === 0 ? null : stats.logicalBytes / stats.physicalBytes);

function asJson(stats: StorageStats) {
  const deduplication = ratio(stats);
  return {
    users: stats.users,
    files: stats.files,
    contents: stats.contents,
    logical_bytes: stats.logicalBytes,
    physical_bytes: stats.physicalBytes,
    deduplication_ratio: deduplication === null ? null : Number(deduplication.toFixed(4)),
  };
}

function humanReport(stats: StorageStats): string {
  const deduplication = ratio(stats);
  const saved = stats.logicalBytes - stats.physicalBytes;
  const rows: [string, string][] = [
    ['users', String(stats.users)],
    ['files', String(stats.files)],
    ['contents', `${stats.contents} (distinct contents stored)`],
    ['logical bytes', `${stats.logicalBytes} (the sum of every file's size)`],
    ['physical bytes', `${stats.physicalBytes} (each content once)`],
    ['deduplication', deduplication === null ? 'n/a (nothing stored)' : `${deduplication.toFixed(2)}x (${saved} bytes saved)`],
  ];
  return rows.map(([name, value]) => `${name.padEnd(16)}${value}\n`).join('');
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`cloudstore: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
