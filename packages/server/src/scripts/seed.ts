import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_PATTERN } from '@cloudstore/shared';
import type { Knex } from 'knex';
import { loadConfig, type Config } from '../config.js';
import { openDatabase } from '../db/open.js';
import { FileRepository } from '../repositories/files.js';
import { UserRepository, usernameKey } from '../repositories/users.js';
import { Passwords } from '../services/passwords.js';
import { FsBlobStore } from '../store/fs-store.js';

const SEED_CONTENT = Buffer.from('A file seeded by `pnpm seed`: every seeded file has this content.\n');
const SEED_CONTENT_TYPE = 'text/plain';

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
        const files = new FileRepository(trx);
        const existing = await files.findBlob(staged.sha256, true);
        // Published under the lock: a collection that removed the row may have taken the bytes too.
        await staged.publish();
        if (existing) return work(trx, existing.id);
        const blob = await files.insertBlob(staged.sha256, staged.size, Date.now());
        return work(trx, blob.id);
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
      const passwords = await Passwords.create(1, config.passwordHashCost);
      const passwordHash = await passwords.hash(password).finally(() => passwords.close());
      await users.create(options.username, passwordHash, Date.now());
      user = (await users.findByName(options.username))!;
      print(`created user ${options.username}${options.password ? '' : ` with password ${password}`}`);
    }
    const width = String(options.count).length;
    const filenames = Array.from({ length: options.count }, (_, index) => options.prefix + String(index + 1).padStart(width, '0'));
    await withStoredBlob(db, config, SEED_CONTENT, (trx, blobId) =>
      new FileRepository(trx).insertManyFiles({
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
