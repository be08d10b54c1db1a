import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ROUTES } from '@cloudstore/shared/routes';
import type { FileEntry, VerifyReply } from '@cloudstore/shared';
import { ApiError, type ApiClient } from '../api/client.js';
import { listPages } from '../api/listing.js';
import { authenticatedClient } from '../auth/session.js';
import type { Context, GlobalOptions } from '../context.js';
import { CliError, EXIT, ReportedFailure, usageError } from '../errors.js';
import { hashFile } from '../local/local-content.js';
import { forEachItem } from './shared/batch.js';
import { checkedFilename } from './shared/filename.js';

export interface VerifyOptions extends GlobalOptions {
  /** Remote names, or local paths with `local`. */
  names: string[];
  /** Every file the user can read (or, with `local`, also what is missing locally). */
  all: boolean;
  /** The arguments are local files or directories, compared with the remote files of the same names. */
  local: boolean;
  /** Re-hash the stored bytes on the server (POST /cloud/my-drive/verify) instead of trusting its records. */
  readData: boolean;
  owner?: string;
}

/** A result of verify, in the API's field names (CLI.md, "verify"). */
type Status = 'ok' | 'damaged' | 'changed' | 'missing_on_server' | 'missing_locally';

const STATUS_TEXT: Record<Status, string> = {
  ok: 'ok',
  damaged: 'damaged on server',
  changed: 'changed locally',
  missing_on_server: 'missing on server',
  missing_locally: 'missing locally',
};
const STATUS_WIDTH = Math.max(...Object.values(STATUS_TEXT).map((text) => text.length));
const NO_DIGEST = '-'.padEnd(64);

/** 429s waited out per file, each for the Retry-After the server gave (at most a minute). */
const RATE_LIMIT_WAITS = 3;
const RATE_LIMIT_WAIT_MAX_SECONDS = 60;

/** One thing to check: a remote name, a local file (with the name it has on the server), or both. */
interface Item {
  filename: string;
  path?: string;
}

/**
 * Checks files against the server's records, as `rclone check` and `restic check --read-data`
 * do: the digest the server recorded, whether the server found the stored bytes damaged (or,
 * with --read-data, re-hashes them now), and with --local the local file's SHA-256. One result
 * line per file; exit 7 when anything differs or is missing.
 */
export async function run(options: VerifyOptions, context: Context): Promise<void> {
  if (options.all && !options.local && options.names.length > 0) throw usageError('give names or --all, not both');
  if (options.local && options.names.length === 0) throw usageError('give the local files or directories to verify');
  if (!options.all && options.names.length === 0) throw usageError('give names, or --all');
  const items = options.local ? await localItems(options.names, context.cwd) : options.names.map((name) => ({ filename: name }));
  const client = await authenticatedClient(options, context);
  const remote = await listAll(client);
  let hasDifference = false;
  const report = (item: Item, status: Status, entry: { owner?: string; sha256?: string; size?: number }, localSha256?: string) => {
    if (status !== 'ok') hasDifference = true;
    const label = item.path ?? item.filename;
    const human = `${STATUS_TEXT[status].padEnd(STATUS_WIDTH)}  ${entry.sha256 ?? NO_DIGEST}  ${label}`;
    const json: Record<string, unknown> = { filename: item.filename, ...entry, status };
    if (item.path !== undefined) json.path = item.path;
    if (localSha256 !== undefined) json.local_sha256 = localSha256;
    context.output.result(human, json);
  };

  const checks: Array<{ item: Item; entry?: FileEntry }> = [];
  if (options.all && !options.local) {
    for (const entry of remote.all) {
      if (options.owner === undefined || sameUser(entry.owner, options.owner)) checks.push({ item: { filename: entry.filename }, entry });
    }
  } else {
    for (const item of items) checks.push({ item });
  }

  let failure: unknown;
  try {
    await forEachItem(
      context.output,
      checks,
      ({ item }) => ({
        label: item.path ?? item.filename,
        fields: subjectFields(item),
      }),
      async ({ item, entry: known }) => {
        const filename = checkedFilename(item.filename);
        const entry = known ?? pick(remote.byName.get(filename) ?? [], filename, options.owner);
        const localSha256 = item.path === undefined ? undefined : await localDigest(item.path, context);
        if (!entry)
          return report(
            item,
            item.path !== undefined && localSha256 === undefined ? 'missing_locally' : 'missing_on_server',
            {},
            localSha256,
          );
        let recorded = { owner: entry.owner, sha256: entry.sha256, size: entry.size };
        let status: Status = entry.damaged ? 'damaged' : 'ok';
        if (options.readData) {
          const reply = await rehashOnServer(client, entry, context);
          if (!reply) return report(item, 'missing_on_server', {});
          recorded = { owner: reply.owner, sha256: reply.sha256, size: reply.size };
          status = reply.status;
        }
        if (item.path !== undefined && status === 'ok') {
          if (localSha256 === undefined) status = 'missing_locally';
          else if (localSha256 !== recorded.sha256) status = 'changed';
        }
        report(item, status, recorded, localSha256);
      },
    );
  } catch (error) {
    failure = error;
  }
  if (options.all && options.local) {
    const present = new Set(items.map((item) => item.filename));
    for (const entry of remote.all) {
      if (entry.role !== 'owner' || present.has(entry.filename)) continue;
      report({ filename: entry.filename }, 'missing_locally', { owner: entry.owner, sha256: entry.sha256, size: entry.size });
    }
  }
  if (failure !== undefined) throw failure;
  if (hasDifference) throw new ReportedFailure(EXIT.integrity);
}

function subjectFields(item: Item): Record<string, string> {
  return item.path === undefined ? { filename: item.filename } : { filename: item.filename, path: item.path };
}

/** Every file the user can read, and by name. */
async function listAll(client: ApiClient): Promise<{ all: FileEntry[]; byName: Map<string, FileEntry[]> }> {
  const all: FileEntry[] = [];
  const byName = new Map<string, FileEntry[]>();
  for await (const page of listPages(client)) {
    for (const entry of page) {
      all.push(entry);
      byName.set(entry.filename, [...(byName.get(entry.filename) ?? []), entry]);
    }
  }
  return { all, byName };
}

const sameUser = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Which file a name means, as the server decides for a download: the owner's given, else one's own, else the one shared. */
function pick(entries: FileEntry[], filename: string, owner: string | undefined): FileEntry | undefined {
  if (owner !== undefined) return entries.find((entry) => sameUser(entry.owner, owner));
  const own = entries.find((entry) => entry.role === 'owner');
  if (own || entries.length <= 1) return own ?? entries[0];
  const owners = entries.map((entry) => entry.owner).join(', ');
  throw new CliError(
    'AMBIGUOUS_FILENAME',
    `several files named '${filename}' are shared with you (owners: ${owners}): choose one with --owner`,
    EXIT.conflict,
  );
}

/** The local file's SHA-256 (hex), streamed; undefined when it does not exist. */
async function localDigest(path: string, context: Context): Promise<string | undefined> {
  const absolute = resolve(context.cwd, path);
  try {
    const stats = await stat(absolute);
    const content = await context.output.withProgress(`hashing ${basename(path)}`, stats.size, (progress) => hashFile(absolute, progress));
    return content.sha256.toString('hex');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The server's re-hash of the file; undefined when it is gone since the listing. A 429 is waited out. */
async function rehashOnServer(client: ApiClient, entry: FileEntry, context: Context): Promise<VerifyReply | undefined> {
  for (let waited = 0; ; waited++) {
    try {
      return (await client.call<VerifyReply>('POST', ROUTES.verify, { json: { filename: entry.filename, owner: entry.owner } })).body;
    } catch (error) {
      if (error instanceof ApiError && error.code === 'FILE_NOT_FOUND') return undefined;
      const seconds = error instanceof ApiError ? error.retryAfterSeconds : undefined;
      if (seconds === undefined || seconds > RATE_LIMIT_WAIT_MAX_SECONDS || waited >= RATE_LIMIT_WAITS) throw error;
      context.output.notice(`the server limits verifications: waiting ${seconds} seconds`);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    }
  }
}

/** The local files of the arguments: a file is itself, a directory its regular files (not below it). */
async function localItems(paths: string[], cwd: string): Promise<Item[]> {
  const items: Item[] = [];
  for (const path of paths) {
    const absolute = resolve(cwd, path);
    const stats = await stat(absolute).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (!stats?.isDirectory()) {
      items.push({ filename: basename(absolute), path });
      continue;
    }
    const names = (await readdir(absolute, { withFileTypes: true })).filter((entry) => entry.isFile()).map((entry) => entry.name);
    for (const name of names.sort()) items.push({ filename: name, path: join(path, name) });
  }
  return items;
}
