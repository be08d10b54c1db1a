import type { Knex } from 'knex';
import type { Test } from 'tap';
import { openDatabase } from '../../src/db/open.js';
import type { TestServer } from './build-app.js';
import { blobsOnDisk, temporaryFiles } from './content.js';
import { eventually } from './waiting.js';

/** What an upload can leave behind: bytes on disk and rows in the database. */
export interface StorageState {
  blobs: string[];
  temporary: string[];
  fileRows: number;
  blobRows: number;
}

/** The test server's own database, opened beside it (closed when the test ends). */
export async function openServerDatabase(t: Test, server: TestServer): Promise<Knex> {
  const db = await openDatabase(server.config);
  t.teardown(() => db.destroy());
  return db;
}

async function countRows(db: Knex, table: string): Promise<number> {
  const row = await db(table).count({ count: '*' }).first();
  return Number(row?.count ?? 0);
}

export async function storageState(server: TestServer, db: Knex): Promise<StorageState> {
  return {
    blobs: await blobsOnDisk(server.dataDir),
    temporary: await temporaryFiles(server.dataDir),
    fileRows: await countRows(db, 'files'),
    blobRows: await countRows(db, 'blobs'),
  };
}

/**
 * Asserts that storage comes back to `before` (within 5 s: an aborted request is cleaned up
 * after its socket closes) — no temporary file, no blob, no row left behind.
 */
export async function assertNothingLeft(t: Test, server: TestServer, db: Knex, before: StorageState, what: string) {
  let after = before;
  await eventually(async () => {
    after = await storageState(server, db);
    return JSON.stringify(after) === JSON.stringify(before);
  });
  t.same(after, before, `${what} leaves nothing behind`);
}

/**
 * The reference accounting that must hold whatever raced: every file's blob row exists and its
 * bytes are on disk, every blob row counts exactly its files, and no bytes lie on disk without a row.
 */
export async function referenceProblems(server: TestServer, db: Knex): Promise<string[]> {
  const problems: string[] = [];
  const onDisk = new Set(await blobsOnDisk(server.dataDir));
  const dangling = await db('files').leftJoin('blobs', 'blobs.id', 'files.blob_id').whereNull('blobs.id').select('files.id');
  for (const row of dangling) problems.push(`file ${row.id} points at no blob row`);
  const blobs: Record<string, unknown>[] = await db('blobs')
    .leftJoin('files', 'files.blob_id', 'blobs.id')
    .groupBy('blobs.id', 'blobs.sha256', 'blobs.ref_count')
    .select('blobs.sha256 as sha256', 'blobs.ref_count as refCount')
    .count({ files: 'files.id' });
  const known = new Set<string>();
  for (const blob of blobs) {
    const sha256 = String(blob.sha256);
    known.add(sha256);
    if (Number(blob.refCount) !== Number(blob.files))
      problems.push(`blob ${sha256} counts ${blob.refCount} references, has ${blob.files} files`);
    if (Number(blob.files) > 0 && !onDisk.has(sha256)) problems.push(`blob ${sha256} is referenced but not on disk`);
    if (Number(blob.files) === 0) problems.push(`blob ${sha256} has no file but a row`);
  }
  for (const sha256 of onDisk) if (!known.has(sha256)) problems.push(`blob ${sha256} is on disk without a row`);
  return problems;
}
