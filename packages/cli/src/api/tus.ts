import { ROUTES } from '@cloudstore/shared/routes';
import { parseReprDigest } from '@cloudstore/shared/repr-digest';
import { CliError, EXIT } from '../errors.js';
import type { Progress } from '../terminal/progress.js';
import { ApiError, type ApiClient } from './client.js';
import { withFileBody } from './file-body.js';

/**
 * The client side of API.md's "Resumable upload (tus 1.0)": core (HEAD, PATCH) plus creation
 * and termination, each request a plain function of an ApiClient.
 */
const TUS_HEADERS = { 'tus-resumable': '1.0.0' };
const TUS_BODY_TYPE = 'application/offset+octet-stream';

export interface NewUpload {
  filename: string;
  contentType: string;
  size: number;
  sha256: Buffer;
}

const metadataPair = (key: string, value: string) => `${key} ${Buffer.from(value, 'utf8').toString('base64')}`;

/** POST: a new upload of `size` bytes; its path on the server (Location), checked to be on the same server. */
export async function createUpload(client: ApiClient, upload: NewUpload): Promise<string> {
  const metadata = [
    metadataPair('filename', upload.filename),
    metadataPair('content_type', upload.contentType),
    metadataPair('sha256', upload.sha256.toString('hex')),
  ].join(',');
  const response = await client.send('POST', ROUTES.uploads, {
    headers: { ...TUS_HEADERS, 'upload-length': String(upload.size), 'upload-metadata': metadata },
  });
  await client.guard(() => response.body.dump());
  const location = new URL(String(response.headers.location ?? ''), client.origin);
  // The upload's URL will carry the bearer token: it must not lead to another server.
  if (response.headers.location === undefined || location.origin !== client.origin || !location.pathname.startsWith(ROUTES.uploads)) {
    throw new CliError('BAD_LOCATION', 'the server did not say where the new upload is (Location)', EXIT.failure);
  }
  return location.pathname;
}

/** HEAD: how many bytes the server holds; undefined when the upload is gone (finished, expired or deleted). */
export async function uploadOffset(client: ApiClient, location: string): Promise<number | undefined> {
  try {
    const response = await client.send('HEAD', location, { headers: TUS_HEADERS });
    await client.guard(() => response.body.dump());
    return byteCount(response.headers['upload-offset']);
  } catch (error) {
    if (error instanceof ApiError && error.statusCode === 404) return undefined;
    throw error;
  }
}

/**
 * PATCH: the rest of the file from `offset`, in one request. Resolves once the server holds
 * the whole file (the last byte completes the upload); checks the digest it reports.
 */
export async function appendRest(
  client: ApiClient,
  location: string,
  file: { path: string; size: number; sha256: Buffer },
  offset: number,
  progress: Progress,
): Promise<void> {
  await withFileBody({ path: file.path, start: offset }, progress, async (body) => {
    const response = await client.send('PATCH', location, {
      headers: {
        ...TUS_HEADERS,
        'content-type': TUS_BODY_TYPE,
        'upload-offset': String(offset),
        'content-length': String(file.size - offset),
      },
      body,
    });
    await client.guard(() => response.body.dump());
    const reached = byteCount(response.headers['upload-offset']);
    if (reached !== file.size) {
      throw new CliError('UPLOAD_INCOMPLETE', `the server holds ${reached ?? 'an unknown number of'} of ${file.size} bytes`, EXIT.failure);
    }
    const declared = parseReprDigest(response.headers['repr-digest']);
    if (declared.ok && declared.sha256 !== undefined && declared.sha256 !== file.sha256.toString('hex')) {
      throw new CliError('DIGEST_MISMATCH', 'the server stored other bytes than were hashed here', EXIT.integrity);
    }
  });
}

/** DELETE: the server discards what it received; an upload already gone is not an error. */
export async function deleteUpload(client: ApiClient, location: string): Promise<void> {
  try {
    const response = await client.send('DELETE', location, { headers: TUS_HEADERS });
    await client.guard(() => response.body.dump());
  } catch (error) {
    if (!(error instanceof ApiError && error.statusCode === 404)) throw error;
  }
}

function byteCount(header: string | string[] | undefined): number | undefined {
  const value = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : Number.NaN;
  return Number.isSafeInteger(value) ? value : undefined;
}
