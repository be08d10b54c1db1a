import http from 'node:http';
import { ROUTES } from '@cloudstore/shared';
import type { Client, Reply } from './client.js';
import { eventually } from './waiting.js';

export const TUS = { 'tus-resumable': '1.0.0' };
export const TUS_BODY = { ...TUS, 'content-type': 'application/offset+octet-stream' };

/** tus's Upload-Metadata: `key base64value` pairs. */
export function metadataHeader(metadata: Record<string, string>): string {
  return Object.entries(metadata)
    .map(([key, value]) => `${key} ${Buffer.from(value, 'utf8').toString('base64')}`)
    .join(',');
}

export interface CreateOptions {
  contentType?: string;
  sha256?: string;
  /** creation-with-upload: the body's first bytes. */
  body?: Buffer;
  headers?: Record<string, string>;
}

/** One user's view of `/cloud/uploads/`, speaking tus 1.0.0 as any tus client would. */
export class TusUploads {
  constructor(
    readonly client: Client,
    readonly token: string,
  ) {}

  options(headers: Record<string, string> = {}): Promise<Reply> {
    return this.client.call('OPTIONS', ROUTES.uploads, { token: this.token, headers });
  }

  create(filename: string, length: number, options: CreateOptions = {}): Promise<Reply> {
    const metadata: Record<string, string> = { filename };
    if (options.contentType !== undefined) metadata.content_type = options.contentType;
    if (options.sha256 !== undefined) metadata.sha256 = options.sha256;
    const headers: Record<string, string> = {
      ...(options.body ? TUS_BODY : TUS),
      'upload-length': String(length),
      'upload-metadata': metadataHeader(metadata),
      ...options.headers,
    };
    return this.client.call('POST', ROUTES.uploads, { token: this.token, headers, body: options.body });
  }

  /** Creates an upload and returns its path (Location), failing the test's setup otherwise. */
  async start(filename: string, length: number, options: CreateOptions = {}): Promise<string> {
    const reply = await this.create(filename, length, options);
    if (reply.status !== 201) throw new Error(`create ${filename}: ${reply.status} ${JSON.stringify(reply.body)}`);
    return String(reply.headers.location);
  }

  head(location: string, headers: Record<string, string> = TUS): Promise<Reply> {
    return this.client.call('HEAD', location, { token: this.token, headers });
  }

  patch(location: string, offset: number, body: Buffer | NodeJS.ReadableStream, headers: Record<string, string> = {}): Promise<Reply> {
    return this.client.call('PATCH', location, {
      token: this.token,
      body,
      headers: { ...TUS_BODY, 'upload-offset': String(offset), ...headers },
    });
  }

  delete(location: string, headers: Record<string, string> = TUS): Promise<Reply> {
    return this.client.call('DELETE', location, { token: this.token, headers });
  }
}

/**
 * Starts a PATCH announcing `announced` bytes at `offset`, sends `prefix`, waits until
 * `isReceived()` says the server has it (or `settleMs`), then destroys the socket: a client
 * whose link drops mid-body.
 */
export async function patchAndDisconnect(
  baseUrl: string,
  location: string,
  token: string,
  offset: number,
  announced: number,
  prefix: Buffer,
  isReceived: () => Promise<boolean>,
): Promise<void> {
  const request = http.request(baseUrl + location, {
    method: 'PATCH',
    agent: false,
    headers: { ...TUS_BODY, 'upload-offset': offset, 'content-length': announced, authorization: `Bearer ${token}` },
  });
  request.on('error', () => {});
  request.write(prefix);
  if (!(await eventually(isReceived, 10_000))) throw new Error('the server never received the prefix');
  const closed = new Promise((resolve) => request.once('close', resolve));
  request.destroy();
  await closed;
}
