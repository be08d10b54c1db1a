import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ROUTES } from '@cloudstore/shared/routes';
import { parseReprDigest } from '@cloudstore/shared/repr-digest';
import { CliError, EXIT } from '../errors.js';
import { ResumeStates } from '../local/resume-state.js';
import { hasherHere, hasherOnThread } from '../local/hash-thread.js';
import { appendHashing, partPathOf, promoteVerified } from '../local/verified-write.js';
import type { Progress } from '../terminal/progress.js';
import { ApiError, type ApiClient } from './client.js';
import type { InPlaceResponse } from './in-place-get.js';
import { withRetries, type RetryPolicy } from './retries.js';

/** A download under way: the body still to read, and what it must hash to. */
export interface Download {
  body: Pick<InPlaceResponse, 'drain' | 'abort'>;
  /** The whole file's size, from Content-Length or Content-Range; unknown if the server streamed without it. */
  size: number | undefined;
  /** Where the body starts in the file: 0 unless a range was served. */
  offset: number;
  sha256: Buffer;
  etag: string | undefined;
  contentType: string;
}

/** Continue a part file: its size, and the ETag of the content it holds. */
export interface ResumePoint {
  offset: number;
  etag: string;
}

export async function startDownload(
  client: ApiClient,
  filename: string,
  owner: string | undefined,
  resume?: ResumePoint,
): Promise<Download> {
  const headers: Record<string, string> = resume ? { range: `bytes=${resume.offset}-`, 'if-match': resume.etag } : {};
  const response = await client.download(ROUTES.myDrive, { query: { filename, owner }, headers });
  const declared = parseReprDigest(response.headers['repr-digest']);
  const sha256 = declared.ok && declared.sha256 !== undefined ? Buffer.from(declared.sha256, 'hex') : undefined;
  if (!sha256) {
    response.abort();
    throw new CliError('DIGEST_MISSING', 'the server sent no Repr-Digest, so the download cannot be checked', EXIT.integrity);
  }
  const served = servedRange(response.statusCode, response.headers);
  // Appended at the wrong place, a range would make a whole file of the wrong bytes.
  if (!served || (resume && served.offset !== 0 && served.offset !== resume.offset)) {
    response.abort();
    throw new CliError('BAD_RANGE', 'the server answered the resumed download with another range than asked', EXIT.failure);
  }
  const contentType = response.headers['content-type'];
  const etag = response.headers.etag;
  return {
    body: response,
    ...served,
    sha256,
    etag: typeof etag === 'string' ? etag : undefined,
    contentType: typeof contentType === 'string' ? contentType : 'application/octet-stream',
  };
}

type Headers = Record<string, string | string[] | undefined>;

/** 200: the whole file; 206: `Content-Range: bytes FIRST-LAST/SIZE` read for where it starts. */
function servedRange(statusCode: number, headers: Headers): { offset: number; size: number | undefined } | undefined {
  if (statusCode !== 206) {
    const length = Number(headers['content-length']);
    return { offset: 0, size: Number.isSafeInteger(length) ? length : undefined };
  }
  const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(headers['content-range']));
  if (!match) return undefined;
  return { offset: Number(match[1]), size: Number(match[3]) };
}

/** What a download to a file is told of the run it belongs to. */
export interface DownloadRun {
  stateDir: string;
  now: () => number;
  retries: RetryPolicy;
  /** A progress bar for one try, already advanced to the byte it starts from. */
  progress(size: number | undefined, offset: number): Progress;
  notice(text: string): void;
  describeBytes(bytes: number): string;
}

interface PartState {
  origin: string;
  etag: string;
}

/**
 * Files this large are hashed on a thread of their own (local/hash-thread.ts), which takes some
 * 30 ms to start: smaller ones hash on this thread.
 */
const HASH_THREAD_BYTES = 64 * 1024 * 1024;

/** A record of a part file nobody resumed for this long is removed (the part itself stays the user's). */
const ABANDONED_DOWNLOAD_MS = 30 * 24 * 3600 * 1000;

/**
 * Downloads into `NAME.cloudstore-part` beside the target and renames it into place once the
 * whole file's SHA-256 matches the server's Repr-Digest (CLI.md, "Resumable", "Safe writes").
 * A part left by an earlier run, or by an earlier try of this one, is continued with `Range`
 * and `If-Match` on the ETag it was started with; a file that changed since starts over.
 * Network failures and server errors are tried again (RetryPolicy).
 */
export async function downloadToFile(
  client: ApiClient,
  source: { filename: string; owner: string | undefined },
  target: { path: string; overwrite: boolean },
  run: DownloadRun,
): Promise<Download> {
  const part = partPathOf(target.path);
  const states = new ResumeStates<PartState>(join(run.stateDir, 'downloads'), ABANDONED_DOWNLOAD_MS, run.now);
  await states.removeAbandoned();
  const key = ResumeStates.keyOf([part]);
  let isFirstTry = true;
  const download = await withRetries(run.retries, async () => {
    const state = await states.load(key);
    const offset = state?.origin === client.origin ? await sizeOf(part) : 0;
    const resume = offset > 0 && state ? { offset, etag: state.etag } : undefined;
    const started = await startResumed(client, source, resume, run);
    if (isFirstTry && started.offset > 0) {
      run.notice(`resuming at ${run.describeBytes(started.offset)} of ${run.describeBytes(started.size ?? 0)}`);
    }
    isFirstTry = false;
    try {
      if (started.etag) await states.save(key, { origin: client.origin, etag: started.etag });
    } catch (error) {
      started.body.abort();
      throw error;
    }
    const progress = run.progress(started.size, started.offset);
    try {
      const startHasher = (started.size ?? 0) >= HASH_THREAD_BYTES ? hasherOnThread() : hasherHere;
      const actual = await client.guard(() =>
        appendHashing({ source: started.body, sha256: started.sha256, progress }, part, started.offset, startHasher),
      );
      return { ...started, actual };
    } finally {
      progress.finish();
    }
  });
  await states.remove(key);
  await promoteVerified(part, target.path, { actual: download.actual, expected: download.sha256 }, { overwrite: target.overwrite });
  return download;
}

/** The download from `resume` on; from the start when the file changed (412) or the part is already whole (416). */
async function startResumed(
  client: ApiClient,
  source: { filename: string; owner: string | undefined },
  resume: ResumePoint | undefined,
  run: DownloadRun,
): Promise<Download> {
  try {
    return await startDownload(client, source.filename, source.owner, resume);
  } catch (error) {
    if (!resume || !(error instanceof ApiError) || ![412, 416].includes(error.statusCode)) throw error;
    if (error.statusCode === 412) run.notice(`${source.filename} changed on the server since the partial download: starting over`);
    return startDownload(client, source.filename, source.owner);
  }
}

async function sizeOf(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.size ?? 0;
}
