import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FriendsReply, UploadReply } from '@cloudstore/shared';
import { ROUTES } from '@cloudstore/shared/routes';
import { lookup } from 'mime-types';
import { ApiError, type ApiClient } from '../api/client.js';
import { claimByDigest, forgetResumable, uploadBytes, uploadResumable, type UploadTarget } from '../api/upload.js';
import { authenticatedClient } from '../auth/session.js';
import type { Context, GlobalOptions } from '../context.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { hashFile, spoolAndHash, type LocalContent } from '../local/local-content.js';
import { formatBytes } from '../terminal/units.js';
import { forEachItem } from './shared/batch.js';
import { retryPolicy } from './shared/retry-policy.js';
import { checkedFilename } from './shared/filename.js';

export interface PutOptions extends GlobalOptions {
  paths: string[];
  name?: string;
  noClobber: boolean;
  /** False with --no-resume: a large upload starts over instead of continuing an unfinished one. */
  resume: boolean;
}

const STDIN = '-';

/** Hash first; claim by digest; send the bytes only when the claim cannot succeed (CLI.md, "Hash first"). */
export async function run(options: PutOptions, context: Context): Promise<void> {
  if (options.name !== undefined && options.paths.length > 1) throw usageError('--name names one file: give a single path with it');
  if (options.paths.includes(STDIN) && options.name === undefined) throw usageError(`'${STDIN}' reads standard input and needs --name`);
  const client = await authenticatedClient(options, context);
  await forEachItem(
    context.output,
    options.paths,
    (path) => ({ label: path, fields: { path } }),
    async (path) => {
      const check = (filename: string) => checkReplacement(client, filename, options, context);
      await withLocalContent(path, options.name, context, check, async (content, filename) => {
        const target = { filename, contentType: guessContentType(filename) };
        const isResumable = content.size >= context.resumableUploadBytes;
        const claimed = await claimByDigest(client, target, content);
        if (claimed) {
          if (isResumable) await forgetResumable(client, content, context.stateDir, context.now);
          return report(path, claimed, false, context);
        }
        const uploaded = isResumable
          ? await sendResumable(client, target, content, options, context)
          : await context.output.withProgress(`uploading ${filename}`, content.size, (progress) =>
              uploadBytes(client, target, content, progress),
            );
        report(path, uploaded, true, context);
      });
    },
  );
}

/**
 * The tus route answers the last byte with 204 alone: whether the name replaced a file of the
 * caller's is asked before (the server said at the claim that it may not disclose the content,
 * so `deduplicated` is false, as the raw route would say).
 */
async function sendResumable(
  client: ApiClient,
  target: UploadTarget,
  content: LocalContent,
  options: PutOptions,
  context: Context,
): Promise<UploadReply> {
  const isReplacing = (await friendsOfOwnFile(client, target.filename)) !== undefined;
  await uploadResumable(client, target, content, {
    stateDir: context.stateDir,
    now: context.now,
    retries: retryPolicy(context),
    isResumeWanted: options.resume,
    progress: (size, offset) => {
      const progress = context.output.progress(`uploading ${target.filename}`, size);
      progress.advance(offset);
      return progress;
    },
    notice: (text) => context.output.notice(text),
    describeBytes: formatBytes,
  });
  return {
    filename: target.filename,
    sha256: content.sha256.toString('hex'),
    size: content.size,
    deduplicated: false,
    replaced: isReplacing,
  };
}

type UseContent = (content: LocalContent, filename: string) => Promise<void>;

/**
 * Checks the path and the name it gets on the server, lets `check` look at that name before
 * anything is read, hashes the file where it is, and hands both to `use`.
 */
async function withLocalContent(
  path: string,
  name: string | undefined,
  context: Context,
  check: (filename: string) => Promise<void>,
  use: UseContent,
) {
  if (path === STDIN) {
    const filename = checkedFilename(name ?? path);
    await check(filename);
    return withSpool(context.stdin, filename, context, use);
  }
  const stats = await stat(path);
  if (stats.isDirectory()) {
    throw new CliError('IS_A_DIRECTORY', 'is a directory: put uploads files (a glob such as dir/* names them)', EXIT.usage);
  }
  const filename = checkedFilename(name ?? basename(path));
  await check(filename);
  if (!stats.isFile()) return withSpool(createReadStream(path), filename, context, use);
  const content = await context.output.withProgress(`hashing ${filename}`, stats.size, (progress) => hashFile(path, progress));
  await use(content, filename);
}

/**
 * Before anything is read or sent: with --no-clobber, a name the caller already owns is a
 * conflict; on a terminal, replacing a file that friends read is announced, because they will
 * read the new content. One lookup answers both: the friends route answers 200 only for the
 * caller's own file of that name (a friend's file is 403, no file 404).
 */
async function checkReplacement(client: ApiClient, filename: string, options: PutOptions, context: Context): Promise<void> {
  const announce = context.isStderrTTY && !options.quiet;
  if (!options.noClobber && !announce) return;
  const friends = await friendsOfOwnFile(client, filename);
  if (friends === undefined) return;
  if (options.noClobber) throw new CliError('NAME_TAKEN', `you already have a file named ${filename} (--no-clobber)`, EXIT.conflict);
  if (friends > 0) context.output.notice(`replacing ${filename}, shared with ${friends === 1 ? '1 friend' : `${friends} friends`}`);
}

/** How many friends the caller's own file of that name has; undefined when the caller owns none. */
async function friendsOfOwnFile(client: ApiClient, filename: string): Promise<number | undefined> {
  try {
    const { body } = await client.call<FriendsReply>('GET', `${ROUTES.driveShare}${encodeURIComponent(filename)}/`);
    return body.friends.length;
  } catch (error) {
    if (error instanceof ApiError && ['FILE_NOT_FOUND', 'NOT_OWNER', 'AMBIGUOUS_FILENAME'].includes(error.code)) return undefined;
    throw error;
  }
}

/**
 * Standard input, pipes and devices can be read only once: they are copied to a private
 * temporary file while hashing, so that the proof and the upload can read them again; the
 * copy is deleted afterwards.
 */
async function withSpool(input: Readable, filename: string, context: Context, use: UseContent) {
  const directory = await mkdtemp(join(tmpdir(), 'cloudstore-'));
  context.temporaryFiles.add(directory);
  try {
    const content = await context.output.withProgress(`reading ${filename}`, undefined, (progress) =>
      spoolAndHash(input, join(directory, 'spool'), progress),
    );
    await use(content, filename);
  } finally {
    await rm(directory, { recursive: true, force: true });
    context.temporaryFiles.delete(directory);
  }
}

/**
 * The media type `put` sends, from the extension alone: mime-types would also take a name
 * without one (`txt`) for an extension. Anything it does not know travels as octet-stream.
 */
function guessContentType(filename: string): string {
  const extension = extname(filename);
  return (extension && lookup(extension)) || 'application/octet-stream';
}

/** The result line says what crossed the network: a skip is promised only when it happened. */
function report(path: string, reply: UploadReply, isUploaded: boolean, context: Context): void {
  const size = formatBytes(reply.size);
  const what = isUploaded
    ? `uploaded ${size}${reply.deduplicated ? ' (the server already held this content)' : ''}`
    : `deduplicated, nothing uploaded (${size})`;
  const replaced = reply.replaced ? `; it replaces your earlier ${reply.filename}` : '';
  context.output.result(`${reply.filename}: ${what}${replaced}`, { path, ...reply });
}
