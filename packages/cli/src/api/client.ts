import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { CliError, EXIT, exitCodeFor } from '../errors.js';
import { keepPool } from './connections.js';
import { inPlaceGet, type InPlaceResponse } from './in-place-get.js';

/**
 * The largest JSON answer read (CLI.md): a page of the listing is far smaller, and a hostile or
 * broken server must not make the CLI hold an unbounded answer in memory.
 */
const MAX_JSON_MIB = 16;
const MAX_JSON_BYTES = MAX_JSON_MIB * 1024 * 1024;

/**
 * undici, with one pool of keep-alive connections for the whole run (a batch of files reuses
 * them); loaded by the first request that needs it, which a download does not (in-place-get.ts).
 * Only its Agent and its request function are loaded: undici's index also loads fetch,
 * WebSocket, EventSource, the cache and the mock agents, which made a deduplicated `put` spend
 * 130 ms loading code, against 40 ms for these two (undici has no exports map, and the lockfile
 * fixes its version; every command's tests run through them).
 */
async function undici() {
  const [{ default: Agent }, { default: request }] = await Promise.all([
    import('undici/lib/dispatcher/agent.js'),
    import('undici/lib/api/api-request.js'),
  ]);
  const dispatcher = keepPool(() => new Agent());
  return (url: URL, options: Omit<Dispatcher.RequestOptions, 'origin' | 'path'>) =>
    request.call(dispatcher, { ...options, origin: url.origin, path: `${url.pathname}${url.search}` });
}

/** An error answer of the server (API.md, "Errors"), with its code and the whole body. */
export class ApiError extends CliError {
  constructor(
    readonly statusCode: number,
    code: string,
    message: string,
    readonly body: Record<string, unknown>,
    /** A 429's `Retry-After`, in seconds. */
    readonly retryAfterSeconds?: number,
  ) {
    super(code, message, exitCodeFor(code));
  }
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  /** Sent as `application/json`. */
  json?: unknown;
  /** Sent as is: a stream of file bytes. */
  body?: Readable;
  signal?: AbortSignal;
}

export interface JsonResponse<T> {
  statusCode: number;
  body: T;
}

/** Where the bearer token came from: a refusal of it names what the user did, not the server's cookie rules. */
export type TokenSource = 'environment' | 'saved session';

const TOKEN_REFUSED: Record<TokenSource, (origin: string) => string> = {
  environment: (origin) =>
    `CLOUDSTORE_TOKEN is not a valid token for ${origin} (expired, revoked or mistyped): set a current one, or unset it and run 'cloudstore login'`,
  'saved session': (origin) => `the session saved for ${origin} is no longer valid (expired or ended): run 'cloudstore login'`,
};

/** The HTTP side of the CLI: one server origin, one optional bearer token. */
export class ApiClient {
  constructor(
    readonly origin: string,
    private readonly token?: string,
    private readonly tokenSource?: TokenSource,
  ) {}

  /**
   * Who the token speaks for, to key what is kept about that account's uploads: the token's
   * `sub` (it stays the same across logins), else a digest of the token itself. Read, not
   * verified: the server verifies every request.
   */
  accountKey(): string {
    const token = this.token ?? '';
    try {
      const { sub } = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown };
      if (typeof sub === 'string' || typeof sub === 'number') return String(sub);
    } catch {
      // Not a JWT: the token stands for its account.
    }
    return createHash('sha256').update(token).digest('hex');
  }

  /** The response of a successful request, body unread; an error answer becomes an ApiError. */
  async send(method: Dispatcher.HttpMethod, path: string, options: RequestOptions = {}): Promise<Dispatcher.ResponseData> {
    const url = this.urlOf(path, options.query);
    const headers = this.headersWith(options.headers);
    let body: string | Readable | undefined = options.body;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const request = await undici();
    const response = await this.guard(() => request(url, { method, headers, body, signal: options.signal }));
    if (response.statusCode >= 400) {
      const text = await this.guard(() => this.readBounded(response));
      throw this.toApiError(response.statusCode, response.headers, text);
    }
    return response;
  }

  /** A GET of file content, its body unread, to be read in place (in-place-get.ts); an error answer becomes an ApiError. */
  async download(path: string, options: Pick<RequestOptions, 'query' | 'headers'> = {}): Promise<InPlaceResponse> {
    const url = this.urlOf(path, options.query);
    const headers = this.headersWith(options.headers);
    const response = await this.guard(() => inPlaceGet(url, headers));
    if (response.statusCode >= 400) {
      const text = await this.guard(() => this.readDownloadText(response));
      throw this.toApiError(response.statusCode, response.headers, text);
    }
    return response;
  }

  /** A request whose answer is JSON (or empty, for 204). */
  async call<T>(method: Dispatcher.HttpMethod, path: string, options: RequestOptions = {}): Promise<JsonResponse<T>> {
    const response = await this.send(method, path, options);
    const text = await this.guard(() => this.readBounded(response));
    return { statusCode: response.statusCode, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** Runs a piece of I/O with the server, turning connection failures into one readable error. */
  async guard<T>(io: () => Promise<T>): Promise<T> {
    try {
      return await io();
    } catch (error) {
      const reason = networkFailure(error);
      if (reason) throw new CliError('NETWORK_ERROR', `cannot reach ${this.origin}: ${reason}`, EXIT.failure);
      throw error;
    }
  }

  private urlOf(path: string, query: RequestOptions['query'] = {}): URL {
    const url = new URL(path, this.origin);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, value);
    }
    return url;
  }

  private headersWith(headers: Record<string, string> = {}): Record<string, string> {
    return this.token ? { ...headers, authorization: `Bearer ${this.token}` } : { ...headers };
  }

  private tooLarge(): CliError {
    return new CliError('RESPONSE_TOO_LARGE', `${this.origin} sent an answer larger than ${MAX_JSON_MIB} MiB: refused`, EXIT.failure);
  }

  /**
   * The body as text, refused once it passes MAX_JSON_BYTES: up front when Content-Length
   * says so, else while it streams in, before more than that is held.
   */
  private async readBounded(response: Dispatcher.ResponseData): Promise<string> {
    if (Number(response.headers['content-length']) > MAX_JSON_BYTES) {
      response.body.destroy();
      throw this.tooLarge();
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_JSON_BYTES) {
        response.body.destroy();
        throw this.tooLarge();
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks, size).toString('utf8');
  }

  /** readBounded, for the answer to a download. */
  private async readDownloadText(response: InPlaceResponse): Promise<string> {
    if (Number(response.headers['content-length']) > MAX_JSON_BYTES) {
      response.abort();
      throw this.tooLarge();
    }
    const chunks: Buffer[] = [];
    let size = 0;
    await response.drain((piece) => {
      size += piece.length;
      if (size > MAX_JSON_BYTES) throw this.tooLarge();
      chunks.push(Buffer.from(piece));
    });
    return Buffer.concat(chunks, size).toString('utf8');
  }

  private toApiError(statusCode: number, headers: Record<string, string | string[] | undefined>, text: string): ApiError {
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // Not the API's error JSON: a proxy or another program answered; the status says enough.
    }
    const code = typeof body.code === 'string' ? body.code : `HTTP_${statusCode}`;
    let message = typeof body.message === 'string' ? body.message : `the server answered HTTP ${statusCode}`;
    if (code === 'UNAUTHENTICATED' && this.token && this.tokenSource) message = TOKEN_REFUSED[this.tokenSource](this.origin);
    if (Array.isArray(body.owners)) message = `${message} (owners: ${body.owners.join(', ')}): choose one with --owner`;
    // 507 is the storage's answer (full, or the user's quota), which the message itself explains.
    if (statusCode >= 500 && code !== 'INSUFFICIENT_STORAGE') message = `server error (${statusCode} ${code}): ${message}`;
    const retryAfter = headers['retry-after'];
    if (statusCode === 429 && typeof retryAfter === 'string') message = `${message}; retry in ${retryAfter} seconds`;
    const retrySeconds = statusCode === 429 && typeof retryAfter === 'string' && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
    return new ApiError(statusCode, code, message, body, retrySeconds);
  }
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'the connection was reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'the server closed the connection',
  UND_ERR_CONNECT_TIMEOUT: 'timed out while connecting',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for an answer',
  UND_ERR_BODY_TIMEOUT: 'timed out while receiving',
  UND_ERR_CLOSED: 'the connection was closed',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'the answer was cut short',
  // in-place-get.ts
  CONNECTION_CLOSED: 'the server closed the connection',
  RESPONSE_CUT_SHORT: 'the answer was cut short',
  CONNECT_TIMEOUT: 'timed out while connecting',
  RESPONSE_TIMEOUT: 'timed out waiting for an answer',
};

function networkFailure(error: unknown): string | undefined {
  const { code } = error as { code?: unknown };
  return typeof code === 'string' ? NETWORK_REASONS[code] : undefined;
}
