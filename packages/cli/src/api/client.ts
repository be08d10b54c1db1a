import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { CliError, EXIT, exitCodeFor } from '../errors.js';
import { keepPool } from './connections.js';

/**
 * The largest JSON answer read (CLI.md): a page of the listing is far smaller, and a hostile or
 * broken server must not make the CLI hold an unbounded answer in memory.
 */
const MAX_JSON_MIB = 16;
const MAX_JSON_BYTES = MAX_JSON_MIB * 1024 * 1024;

/** One pool of keep-alive connections for the whole run: a batch of files reuses them. */
const sharedAgent = () => keepPool(() => new Agent());

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
    const url = new URL(path, this.origin);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, value);
    }
    const headers: Record<string, string> = { ...options.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let body: string | Readable | undefined = options.body;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const response = await this.guard(() => request(url, { method, headers, body, signal: options.signal, dispatcher: sharedAgent() }));
    if (response.statusCode >= 400) throw await this.toApiError(response);
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

  /**
   * The body as text, refused once it passes MAX_JSON_BYTES: up front when Content-Length
   * says so, else while it streams in, before more than that is held.
   */
  private async readBounded(response: Dispatcher.ResponseData): Promise<string> {
    const tooLarge = () => {
      response.body.destroy();
      return new CliError('RESPONSE_TOO_LARGE', `${this.origin} sent an answer larger than ${MAX_JSON_MIB} MiB: refused`, EXIT.failure);
    };
    if (Number(response.headers['content-length']) > MAX_JSON_BYTES) throw tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_JSON_BYTES) throw tooLarge();
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks, size).toString('utf8');
  }

  private async toApiError(response: Dispatcher.ResponseData): Promise<ApiError> {
    const { statusCode } = response;
    const text = await this.guard(() => this.readBounded(response));
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
    const retryAfter = response.headers['retry-after'];
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
};

function networkFailure(error: unknown): string | undefined {
  const { code } = error as { code?: unknown };
  return typeof code === 'string' ? NETWORK_REASONS[code] : undefined;
}
