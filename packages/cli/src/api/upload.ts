import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { IO_CHUNK_BYTES } from '@cloudstore/shared/limits';
import { ROUTES } from '@cloudstore/shared/routes';
import type { Challenge, ClaimBody, UploadReply } from '@cloudstore/shared';
import { CliError, EXIT } from '../errors.js';
import type { LocalContent } from '../local/local-content.js';
import { watchChunks } from '../local/watch-chunks.js';
import type { Progress } from '../terminal/progress.js';
import { ApiError, type ApiClient } from './client.js';
import { answerChallenge } from './proof.js';
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
  const source = createReadStream(content.path, { highWaterMark: IO_CHUNK_BYTES });
  const body = watchChunks((chunk) => progress.advance(chunk.length));
  // The request consumes `body`; a read error of the file reaches it through the pipeline.
  pipeline(source, body).catch(() => {});
  try {
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
  } catch (error) {
    if ((error as { code?: unknown }).code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') {
      throw new CliError('FILE_CHANGED', 'the file changed size while it was being uploaded; nothing was stored', EXIT.failure);
    }
    throw error;
  } finally {
    source.destroy();
  }
}
