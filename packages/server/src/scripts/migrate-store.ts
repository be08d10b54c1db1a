import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Knex } from 'knex';
import { openBlobStore } from '../app.js';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { openDatabase } from '../db/open.js';
import { FileRepository, type BlobRecord } from '../repositories/files.js';
import type { BlobStore } from '../store/blob-store.js';
import { FsBlobStore } from '../store/fs-store.js';

const USAGE = 'usage: pnpm migrate-store [--dry-run]   (copies $DATA_DIR/blobs into BLOB_STORE=s3://…)';
const PAGE = 500;
const PROGRESS_INTERVAL_MS = 2000;

/** The exit codes (docs/DEPLOY.md, "Moving an existing install to S3"). */
export const MIGRATE_EXIT = {
  /** Every blob the database records is on S3 (or would be copied, with --dry-run). */
  done: 0,
  /** Stopped: the database or a store failed; run it again once fixed, it resumes. */
  failed: 1,
  /** Wrong usage, or BLOB_STORE is not s3://… */
  usage: 2,
  /** Finished, but some blobs were not copied (bytes missing or not matching their digest). */
  incomplete: 3,
} as const;

export interface MigrateOptions {
  isDryRun: boolean;
}

export interface MigrateSummary {
  /** Blobs the database records. */
  blobs: number;
  /** Copied now (with --dry-run: that would be). */
  copied: number;
  bytesCopied: number;
  /** On S3 already, from an earlier run. */
  alreadyThere: number;
  /** Digests whose file is missing or whose bytes do not match, with why: not copied. */
  refused: { sha256: string; reason: string }[];
}

export interface MigrateOutput {
  /** Progress and the summary (standard output). */
  line(text: string): void;
  /** A blob that was not copied (standard error). */
  problem(text: string): void;
}

export class UsageError extends Error {}

/**
 * Copies every blob the database records from the file store ($DATA_DIR/blobs) into the S3
 * store that BLOB_STORE names, with the stores' own write path: each blob is re-hashed while it
 * streams, and only bytes that match their digest are recorded (blob_objects), so that a server
 * started on S3 serves them. Blobs recorded already are skipped: a second run copies nothing, an
 * interrupted one carries on (its half-sent object is unrecorded, and the sweep removes it).
 * The server must be stopped meanwhile: an upload to the file store would be missed.
 */
export async function migrateStore(config: Config, options: MigrateOptions, output: MigrateOutput): Promise<MigrateSummary> {
  if (config.blobStore?.kind !== 's3') {
    throw new UsageError('BLOB_STORE must name the S3 store to copy into (s3://BUCKET[/PREFIX], with the AWS_* settings); it is file');
  }
  const db = await openDatabase(config);
  const source = new FsBlobStore(config.dataDir);
  try {
    const target = await openBlobStore(config.dataDir, config.blobStore, db);
    try {
      return await copyAll(db, source, target, options, output);
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
    await db.destroy();
  }
}

async function copyAll(
  db: Knex,
  source: FsBlobStore,
  target: BlobStore,
  options: MigrateOptions,
  output: MigrateOutput,
): Promise<MigrateSummary> {
  const summary: MigrateSummary = { blobs: 0, copied: 0, bytesCopied: 0, alreadyThere: 0, refused: [] };
  const files = new FileRepository(db);
  const verb = options.isDryRun ? 'would copy' : 'copied';
  let lastProgress = Date.now();
  let page: BlobRecord[];
  let after = '';
  do {
    page = await files.blobsAfter(after, PAGE);
    for (const blob of page) {
      summary.blobs++;
      if ((await target.stat(blob.sha256))?.size === blob.size) {
        summary.alreadyThere++;
        continue;
      }
      const refusal = await copyOne(source, target, blob, options);
      if (refusal !== null) {
        summary.refused.push({ sha256: blob.sha256, reason: refusal });
        output.problem(`${blob.sha256}: ${refusal}: not copied`);
        continue;
      }
      summary.copied++;
      summary.bytesCopied += blob.size;
      if (Date.now() - lastProgress >= PROGRESS_INTERVAL_MS) {
        lastProgress = Date.now();
        output.line(`${verb} ${summary.copied} blobs (${formatBytes(summary.bytesCopied)}), ${summary.blobs} looked at so far`);
      }
    }
    after = page.at(-1)?.sha256 ?? after;
  } while (page.length === PAGE);
  output.line(
    `${options.isDryRun ? 'dry run: ' : ''}${summary.blobs} blobs: ${verb} ${summary.copied} (${formatBytes(summary.bytesCopied)}), ` +
      `${summary.alreadyThere} on S3 already, ${summary.refused.length} not copied`,
  );
  return summary;
}

/** Streams one blob from the file store into the S3 store; returns why it was refused, or null. */
async function copyOne(source: FsBlobStore, target: BlobStore, blob: BlobRecord, options: MigrateOptions): Promise<string | null> {
  const onDisk = await source.stat(blob.sha256);
  if (onDisk === null) return `no file at ${source.pathOf(blob.sha256)}`;
  if (onDisk.size !== blob.size) return `the file holds ${onDisk.size} bytes, the database says ${blob.size}`;
  if (options.isDryRun) return null;
  const staged = await target.write(source.read(blob.sha256), { maxBytes: blob.size });
  try {
    if (staged.sha256 !== blob.sha256) return `its bytes hash to ${staged.sha256}`;
    await staged.publish();
    return null;
  } finally {
    await staged.discard();
  }
}

function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** `pnpm migrate-store [--dry-run]`, with the server's settings (environment or .env). */
async function main(): Promise<number> {
  let isDryRun: boolean;
  try {
    isDryRun = parseArgs({ options: { 'dry-run': { type: 'boolean' } } }).values['dry-run'] === true;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const summary = await migrateStore(
    loadConfig(),
    { isDryRun },
    {
      line: (text) => process.stdout.write(`${text}\n`),
      problem: (text) => process.stderr.write(`migrate-store: ${text}\n`),
    },
  );
  return summary.refused.length > 0 ? MIGRATE_EXIT.incomplete : MIGRATE_EXIT.done;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      const isUsage = error instanceof UsageError || error instanceof ConfigError;
      process.stderr.write(`migrate-store: ${(error as Error).message}${isUsage ? `\n${USAGE}` : ''}\n`);
      process.exit(isUsage ? MIGRATE_EXIT.usage : MIGRATE_EXIT.failed);
    },
  );
}
