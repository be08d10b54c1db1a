import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_PATTERN } from '@cloudstore/shared';
import type { Knex } from 'knex';
import { loadConfig, type Config } from '../config.js';
import { UsageRepository } from '../repositories/usage.js';
import { UserRepository, usernameKey } from '../repositories/users.js';
import { Passwords } from '../services/passwords.js';
import { FsBlobStore } from '../store/fs-store.js';
import { dialectOf, openDatabase } from './open.js';

/** Rows per INSERT: 6 columns a row stays under SQLite's 32 766 bound parameters. */
const BATCH_ROWS = 5000;
const SEED_CONTENT = Buffer.from('A file seeded by `pnpm seed`: every seeded file has this content.\n');
const SEED_CONTENT_TYPE = 'text/plain';

export interface BulkFiles {
  ownerId: number;
  /** The owner's lower-cased username, as file_access keeps it. */
  ownerKey: string;
  blobId: number;
  contentType: string;
  filenames: string[];
  now: number;
  /** Users each file is shared with. */
  friendIds?: number[];
}

/**
 * Inserts files and their readers straight into the database, a few thousand rows per
 * statement, and counts the new references on the blob. Fast enough for a million rows; for
 * test set-ups and `pnpm seed`, never for requests. Run it in withStoredBlob's transaction.
 */
export async function insertFiles(db: Knex, files: BulkFiles): Promise<void> {
  const readers = [
    { userId: files.ownerId, role: 'owner' },
    ...(files.friendIds ?? []).map((userId) => ({ userId, role: 'friend' })),
  ];
  for (let start = 0; start < files.filenames.length; start += BATCH_ROWS) {
    const filenames = files.filenames.slice(start, start + BATCH_ROWS);
    // Spelt out as one VALUES list: Knex writes SQLite's multi-row insert as a compound SELECT,
    // which SQLite caps at 500 rows.
    await db.raw(
      `insert into files (owner_id, filename, blob_id, content_type, created_at, updated_at) values ${filenames.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
      filenames.flatMap((filename) => [files.ownerId, filename, files.blobId, files.contentType, files.now, files.now]),
    );
    // The new ids are read back by the database itself: INSERT … SELECT, one per reader.
    for (const reader of readers) {
      const rows = db('files')
        .select('id', db.raw('?', [reader.userId]), db.raw('?', [reader.role]), 'filename', db.raw('?', [files.ownerKey]), 'created_at')
        .where('owner_id', files.ownerId)
        .whereIn('filename', filenames);
      await db
        .into(db.raw('?? (??, ??, ??, ??, ??, ??)', ['file_access', 'file_id', 'user_id', 'role', 'filename', 'owner_key', 'since']))
        .insert(rows);
    }
  }
  await db('blobs').where('id', files.blobId).increment('ref_count', files.filenames.length);
  // The owner's `/me` counts: kept in the transaction that adds the files, like every other change.
  const blob = await db('blobs').where('id', files.blobId).first('size');
  const count = files.filenames.length;
  await new UsageRepository(db).change(files.ownerId, { files: count, bytes: count * Number(blob.size) });
}

/**
 * Stores `content` through the blob store, then runs `work` in a transaction that holds the
 * content's blob row (made if missing). The row stays locked until `work` has counted its new
 * references, so garbage collection, which takes the same lock, never removes the content meanwhile.
 */
export async function withStoredBlob<T>(
  db: Knex,
  config: Pick<Config, 'dataDir'>,
  content: Buffer,
  work: (trx: Knex.Transaction, blobId: number) => Promise<T>,
): Promise<T> {
  const store = new FsBlobStore(config.dataDir);
  try {
    await store.init();
    const staged = await store.write(Readable.from([content]), { maxBytes: content.length });
    try {
      return await db.transaction(async (trx) => {
        const query = trx('blobs').where('sha256', staged.sha256).first('id');
        const existing = await (dialectOf(db) === 'mysql' ? query.forUpdate() : query);
        // Published under the lock: a collection that removed the row may have taken the bytes too.
        await staged.publish();
        if (existing) return work(trx, Number(existing.id));
        const [id] = await trx('blobs').insert({ sha256: staged.sha256, size: staged.size, ref_count: 0, created_at: Date.now() });
        return work(trx, Number(id));
      });
    } finally {
      await staged.discard();
    }
  } finally {
    await store.close();
  }
}

export interface SeedOptions {
  username: string;
  count: number;
  /** For a user the seed creates; generated (and printed) when absent. */
  password?: string;
  prefix: string;
}

/** The user named (created when missing) gets `count` files named prefix + number. */
export async function seed(config: Config, options: SeedOptions, print: (line: string) => void): Promise<void> {
  const started = Date.now();
  const db = await openDatabase(config);
  try {
    const users = new UserRepository(db);
    let user = await users.findByName(options.username);
    if (!user) {
      const password = options.password ?? randomBytes(12).toString('base64url');
      await users.create(options.username, await (await Passwords.create()).hash(password), Date.now());
      user = (await users.findByName(options.username))!;
      print(`created user ${options.username}${options.password ? '' : ` with password ${password}`}`);
    }
    const width = String(options.count).length;
    const filenames = Array.from({ length: options.count }, (_, index) => options.prefix + String(index + 1).padStart(width, '0'));
    await withStoredBlob(db, config, SEED_CONTENT, (trx, blobId) =>
      insertFiles(trx, {
        ownerId: user.id,
        ownerKey: usernameKey(user.username),
        blobId,
        contentType: SEED_CONTENT_TYPE,
        filenames,
        now: Date.now(),
      }),
    );
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    print(`seeded ${options.count} files for ${user.username}: ${filenames[0]} … ${filenames[filenames.length - 1]} (${seconds} s)`);
  } finally {
    await db.destroy();
  }
}

/** `pnpm seed --user NAME --count N [--password P] [--prefix P]` */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      user: { type: 'string' },
      count: { type: 'string' },
      password: { type: 'string' },
      prefix: { type: 'string' },
    },
  });
  const usage = 'usage: pnpm seed --user NAME --count N [--password P] [--prefix P]';
  if (values.user === undefined || !new RegExp(USERNAME_PATTERN).test(values.user)) {
    throw new Error(`--user must be a username (3 to 32 characters of A-Z a-z 0-9 _ . -)\n${usage}`);
  }
  if (values.count === undefined || !/^[1-9][0-9]*$/.test(values.count)) {
    throw new Error(`--count must be a whole number from 1\n${usage}`);
  }
  if (values.password !== undefined && (values.password.length < PASSWORD_MIN || values.password.length > PASSWORD_MAX)) {
    throw new Error(`--password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`);
  }
  await seed(
    loadConfig(),
    {
      username: values.user,
      count: Number(values.count),
      password: values.password,
      // A prefix of its own for each run, so that seeding twice adds files instead of failing.
      prefix: values.prefix ?? `seed-${Date.now().toString(36)}-`,
    },
    (line) => process.stdout.write(`${line}\n`),
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`seed: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
