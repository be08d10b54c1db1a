import type { Readable } from 'node:stream';
import { ROUTES } from '@cloudstore/shared/routes';
import { CliError, EXIT } from '../errors.js';
import type { ApiClient } from './client.js';
import { parseReprDigest } from '@cloudstore/shared/repr-digest';

/** A download under way: the body still to read, and what it must hash to. */
export interface Download {
  body: Readable;
  /** From Content-Length; unknown if the server streamed without it. */
  size: number | undefined;
  sha256: Buffer;
  contentType: string;
}

export async function startDownload(client: ApiClient, filename: string, owner: string | undefined): Promise<Download> {
  const response = await client.send('GET', ROUTES.myDrive, { query: { filename, owner } });
  const declared = parseReprDigest(response.headers['repr-digest']);
  const sha256 = declared.ok && declared.sha256 !== undefined ? Buffer.from(declared.sha256, 'hex') : undefined;
  if (!sha256) {
    response.body.destroy();
    throw new CliError('DIGEST_MISSING', 'the server sent no Repr-Digest, so the download cannot be checked', EXIT.integrity);
  }
  const length = Number(response.headers['content-length']);
  const contentType = response.headers['content-type'];
  return {
    body: response.body,
    size: Number.isSafeInteger(length) ? length : undefined,
    sha256,
    contentType: typeof contentType === 'string' ? contentType : 'application/octet-stream',
  };
}
