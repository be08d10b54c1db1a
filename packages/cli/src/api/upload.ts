import { join, resolve } from 'node:path';
import { ROUTES } from '@cloudstore/shared/routes';
import type { Challenge, ClaimBody, UploadReply } from '@cloudstore/shared';
import { CliError } from '../errors.js';
import type { LocalContent } from '../local/local-content.js';
import { ResumeStates } from '../local/resume-state.js';
import type { Progress } from '../terminal/progress.js';
import { ApiError, type ApiClient } from './client.js';
import { withFileBody } from './file-body.js';
import { answerChallenge } from './proof.js';
import { withRetries, type RetryPolicy } from './retries.js';
import { appendRest, createUpload, deleteUpload, uploadOffset } from './tus.js';
import { formatReprDigest } from '@cloudstore/shared/repr-digest';

/**
 * The server does not have the content, or may not say so to this user, or its copy is damaged
 * (an upload of the same bytes repairs it): send the bytes.
 */
const UPLOAD_INSTEAD = new Set(['CONTENT_UNKNOWN', 'PROOF_INVALID', 'CONTENT_DAMAGED']);

export interface UploadTarget {
  filename: string;
  contentType: string;
}

/**
 * Claims content by digest (API.md, "Claim by digest"): the reply when the server holds it and
 * accepted the proof of possession, so that no byte of the file crossed the network; undefined
 * when the bytes must be uploaded.
 */
export async function claimByDigest(client: ApiClient, target: UploadTarget, content: LocalContent): Promise<UploadReply | undefined> {
  const claim: ClaimBody = {
    filename: target.filename,
    sha256: content.sha256.toString('hex'),
    size: content.size,
    content_type: target.contentType,
  };
  try {
    return await postClaim(client, claim);
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'PROOF_REQUIRED') throw error;
    const { nonce, ranges } = error.body.challenge as Challenge;
    const digest = await answerChallenge(content.path, { nonce, ranges });
    return postClaim(client, { ...claim, proof: { nonce, digest } });
  }
}

async function postClaim(client: ApiClient, claim: ClaimBody): Promise<UploadReply | undefined> {
  try {
    return (await client.call<UploadReply>('POST', ROUTES.myDrive, { json: claim })).body;
  } catch (error) {
    if (error instanceof ApiError && UPLOAD_INSTEAD.has(error.code)) return undefined;
    throw error;
  }
}

/**
 * Streams the file to the raw upload route with its digest in `Repr-Digest`, so that the
 * server refuses bytes that changed on the way (or on the disk since they were hashed).
 */
export async function uploadBytes(
  client: ApiClient,
  target: UploadTarget,
  content: LocalContent,
  progress: Progress,
): Promise<UploadReply> {
  return withFileBody({ path: content.path, start: 0 }, progress, async (body) => {
    const { body: reply } = await client.call<UploadReply>('POST', ROUTES.myDrive, {
      query: { filename: target.filename, content_type: target.contentType },
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(content.size),
        'repr-digest': formatReprDigest(content.sha256.toString('hex')),
      },
      body,
    });
    return reply;
  });
}

/** What a resumable upload is told of the run it belongs to. */
export interface ResumableRun {
  stateDir: string;
  now: () => number;
  retries: RetryPolicy;
  /** False with --no-resume: an unfinished upload of this file is discarded and the upload starts over. */
  isResumeWanted: boolean;
  /** A progress bar for one try, already advanced to the byte it starts from. */
  progress(size: number, offset: number): Progress;
  notice(text: string): void;
  describeBytes(bytes: number): string;
}

interface UploadState {
  location: string;
  size: number;
  sha256: string;
}

/** The server forgets an upload that received nothing for 24 hours (API.md), and so does the CLI. */
const ABANDONED_UPLOAD_MS = 24 * 3600 * 1000;

/**
 * Sends a large file through the tus routes (CLI.md, "Resumable"). Where the upload stands is
 * kept in the state directory, keyed by server, account, path, size, modification time and
 * digest, so that the next `put` of the same unchanged file continues it from the server's
 * offset; network failures and server errors are tried again from that offset (RetryPolicy).
 * Resolves once the server holds the whole file: after the last PATCH, or when a claim shows
 * that a try whose answer was lost had finished it.
 */
export async function uploadResumable(client: ApiClient, target: UploadTarget, content: LocalContent, run: ResumableRun): Promise<void> {
  const states = uploadStates(run.stateDir, run.now);
  await states.removeAbandoned();
  const key = uploadKey(client, content);
  const forget = async () => {
    if (key) await states.remove(key);
  };
  let state = key ? await states.load(key) : undefined;
  if (state && !run.isResumeWanted) {
    await deleteUpload(client, state.location);
    await forget();
    state = undefined;
  }
  let isFirstTry = true;
  return withRetries(run.retries, async (tryNumber) => {
    let offset = state ? await uploadOffset(client, state.location) : undefined;
    if (state && offset === undefined) {
      // Gone: expired, or finished by a try whose answer was lost; in that case the claim now succeeds.
      await forget();
      state = undefined;
      if (tryNumber > 1 && (await claimByDigest(client, target, content))) return;
    }
    if (!state) {
      const location = await createUpload(client, { ...target, size: content.size, sha256: content.sha256 });
      state = { location, size: content.size, sha256: content.sha256.toString('hex') };
      offset = 0;
    }
    // Saved at every try, so that its age says when the server last heard of the upload.
    if (key) await states.save(key, state);
    const start = offset ?? 0;
    if (isFirstTry && start > 0) run.notice(`resuming at ${run.describeBytes(start)} of ${run.describeBytes(content.size)}`);
    isFirstTry = false;
    const progress = run.progress(content.size, start);
    try {
      await appendRest(client, state.location, content, start, progress);
    } catch (error) {
      if (error instanceof CliError && ['DIGEST_MISMATCH', 'FILE_CHANGED'].includes(error.code)) await forget();
      throw error;
    } finally {
      progress.finish();
    }
    await forget();
  });
}

/** Drops what is kept of an unfinished upload of this file, here and on the server (a duplicate made it moot). */
export async function forgetResumable(client: ApiClient, content: LocalContent, stateDir: string, now: () => number): Promise<void> {
  const states = uploadStates(stateDir, now);
  const key = uploadKey(client, content);
  const state = key ? await states.load(key) : undefined;
  if (!key || !state) return;
  await deleteUpload(client, state.location);
  await states.remove(key);
}

const uploadStates = (stateDir: string, now: () => number) =>
  new ResumeStates<UploadState>(join(stateDir, 'uploads'), ABANDONED_UPLOAD_MS, now);

/** Server, account, path, size, modification time and digest; none for a spooled copy of standard input (it cannot come back). */
function uploadKey(client: ApiClient, content: LocalContent): string | undefined {
  if (content.modifiedMs === undefined) return undefined;
  const parts = [
    client.origin,
    client.accountKey(),
    resolve(content.path),
    content.size,
    content.modifiedMs,
    content.sha256.toString('hex'),
  ];
  return ResumeStates.keyOf(parts);
}
