import { stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { ApiClient } from '../api/client.js';
import { downloadToFile, startDownload } from '../api/download.js';
import { authenticatedClient } from '../auth/session.js';
import type { Context, GlobalOptions } from '../context.js';
import { CliError, EXIT } from '../errors.js';
import { pathExists, targetExists, writeVerified } from '../local/verified-write.js';
import { NO_PROGRESS, type Progress } from '../terminal/progress.js';
import { formatBytes } from '../terminal/units.js';
import { forOneItem } from './shared/batch.js';
import { retryPolicy } from './shared/retry-policy.js';
import { checkedFilename } from './shared/filename.js';

export interface GetOptions extends GlobalOptions {
  name: string;
  /** Where to write, from `-o` or the positional DEST: never both (a usage error). */
  output?: string;
  owner?: string;
  force: boolean;
}

const STDOUT = '-';

export async function run(options: GetOptions, context: Context): Promise<void> {
  const filename = checkedFilename(options.name);
  await forOneItem(context.output, { label: filename, fields: { filename } }, async () => {
    const target = options.output === STDOUT ? undefined : await resolveTarget(options.output, filename, context);
    if (target && !options.force && (await pathExists(target))) throw targetExists(target);
    const client = await authenticatedClient(options, context);
    // Standard output carries the file itself: a result line there would corrupt it.
    if (!target) return toStandardOutput(client, filename, options.owner, context);
    const download = await downloadToFile(
      client,
      { filename, owner: options.owner },
      { path: target, overwrite: options.force },
      {
        stateDir: context.stateDir,
        now: context.now,
        retries: retryPolicy(context),
        progress: (size, offset) => {
          const progress = context.output.progress(`downloading ${filename}`, size);
          progress.advance(offset);
          return progress;
        },
        notice: (text) => context.output.notice(text),
        describeBytes: formatBytes,
      },
    );
    const size = download.size ?? (await stat(target)).size;
    context.output.result(`${filename}: saved ${formatBytes(size)} to ${relative(context.cwd, target)}`, {
      filename,
      ...(options.owner === undefined ? {} : { owner: options.owner }),
      sha256: download.sha256.toString('hex'),
      size,
      content_type: download.contentType,
      path: target,
    });
  });
}

/** Bytes written to standard output cannot be taken back: no resume, but the digest is still checked. */
async function toStandardOutput(client: ApiClient, filename: string, owner: string | undefined, context: Context): Promise<void> {
  const download = await startDownload(client, filename, owner);
  const transfer = (progress: Progress) =>
    client.guard(() => writeVerified({ source: download.body, sha256: download.sha256, progress }, context.stdout));
  // The file itself goes to the terminal: a bar drawn on the same screen would be glued to it.
  if (context.isStdoutTTY) await transfer(NO_PROGRESS);
  else await context.output.withProgress(`downloading ${filename}`, download.size, transfer);
}

/** `./NAME` by default; `DIR/NAME` when the output names a directory; else the path given. */
async function resolveTarget(output: string | undefined, filename: string, context: Context): Promise<string> {
  if (output === undefined) return join(context.cwd, filename);
  const path = resolve(context.cwd, output);
  const stats = await stat(path).catch(() => undefined);
  if (stats?.isDirectory()) return join(path, filename);
  if (output.endsWith('/')) throw new CliError('PATH_NOT_FOUND', `no directory ${output}`, EXIT.notFound);
  return path;
}
