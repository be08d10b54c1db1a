import { ROUTES } from '@cloudstore/shared';
import { Client, type Reply } from './client.js';
import { proofDigest, sha256Hex, type ByteRanges } from './content.js';
import { multipartBody, type Part } from './multipart.js';

export interface RawUploadOptions {
  contentType?: string;
  /** The `Repr-Digest` header, sent as given. */
  reprDigest?: string;
  /** Extra query string, appended as given (`&content_type=…`). */
  query?: string;
}

export interface ClaimOptions {
  sha256?: string;
  size?: number;
  contentType?: string;
  proof?: { nonce: string; digest: string };
}

export const reprDigestOf = (content: Buffer) => `sha-256=:${Buffer.from(sha256Hex(content), 'hex').toString('base64')}:`;
const filenameQuery = (filename: string) => `?filename=${encodeURIComponent(filename)}`;

/** One user's view of `/cloud/my-drive/`: every request as that user would send it. */
export class Drive {
  constructor(
    readonly client: Client,
    readonly token: string,
  ) {}

  static async register(client: Client, username: string): Promise<Drive> {
    return new Drive(client, await client.user(username));
  }

  /** The raw route (application/octet-stream), the CLI's fast path. */
  upload(filename: string, content: Buffer | NodeJS.ReadableStream, options: RawUploadOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (options.reprDigest !== undefined) headers['repr-digest'] = options.reprDigest;
    const contentType = options.contentType === undefined ? '' : `&content_type=${encodeURIComponent(options.contentType)}`;
    const path = ROUTES.myDrive + filenameQuery(filename) + contentType + (options.query ?? '');
    return this.client.call('POST', path, { token: this.token, body: content, headers });
  }

  /** The multipart route, parts in the order given. */
  uploadParts(parts: Part[]): Promise<Reply> {
    const { body, contentType } = multipartBody(parts);
    return this.client.call('POST', ROUTES.myDrive, { token: this.token, body, headers: { 'content-type': contentType } });
  }

  /** The multipart route as a browser form sends it: the filename field, then the file. */
  uploadForm(filename: string, content: Buffer, fields: Record<string, string> = {}, contentType?: string): Promise<Reply> {
    const textFields = Object.entries({ filename, ...fields }).map(([name, value]) => ({ name, value }));
    return this.uploadParts([...textFields, { name: 'file', filename: 'blob', contentType, content }]);
  }

  download(filename: string, headers: Record<string, string> = {}, owner?: string): Promise<Reply> {
    const ownerQuery = owner === undefined ? '' : `&owner=${encodeURIComponent(owner)}`;
    return this.client.call('GET', ROUTES.myDrive + filenameQuery(filename) + ownerQuery, { token: this.token, headers });
  }

  delete(filename: string): Promise<Reply> {
    return this.client.call('DELETE', ROUTES.myDrive, { token: this.token, json: { filename } });
  }

  me(): Promise<Reply> {
    return this.client.call('GET', ROUTES.me, { token: this.token });
  }

  /** One round of a claim by digest; digest and size come from `content` unless given. */
  claim(filename: string, content: Buffer, options: ClaimOptions = {}): Promise<Reply> {
    const json: Record<string, unknown> = {
      filename,
      sha256: options.sha256 ?? sha256Hex(content),
      size: options.size ?? content.length,
    };
    if (options.contentType !== undefined) json.content_type = options.contentType;
    if (options.proof) json.proof = options.proof;
    return this.client.call('POST', ROUTES.myDrive, { token: this.token, json });
  }

  /** Round 1: the challenge, which the test asserts was given. */
  async challenge(filename: string, content: Buffer, options: ClaimOptions = {}): Promise<{ nonce: string; ranges: ByteRanges }> {
    const reply = await this.claim(filename, content, options);
    if (reply.status !== 428) throw new Error(`expected 428 PROOF_REQUIRED, got ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body.challenge;
  }

  /** Both rounds, answering the challenge from `known`: the bytes the caller holds (all of `content` by default). */
  async claimWithProof(filename: string, content: Buffer, known: Buffer = content, options: ClaimOptions = {}): Promise<Reply> {
    const { nonce, ranges } = await this.challenge(filename, content, options);
    return this.claim(filename, content, { ...options, proof: { nonce, digest: proofDigest(nonce, ranges, known) } });
  }
}
