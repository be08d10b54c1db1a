import { request } from 'undici';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON when the reply is JSON, else the text. */

  body: any;
  raw: Buffer;
}

export interface CallOptions {
  token?: string;
  json?: unknown;
  body?: string | Buffer | NodeJS.ReadableStream;
  headers?: Record<string, string>;
}

/** A small HTTP client for tests, speaking to the server as any client would. */
export class Client {
  constructor(readonly baseUrl: string) {}

  async call(method: string, path: string, options: CallOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body = options.body;
    if (options.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(options.json);
    }
    const response = await request(this.baseUrl + path, { method: method as 'GET', headers, body: body as string });
    const raw = Buffer.from(await response.body.arrayBuffer());
    const type = String(response.headers['content-type'] ?? '');
    const text = raw.toString('utf8');
    let parsed: unknown = text;
    if (type.startsWith('application/json') && text !== '') parsed = JSON.parse(text);
    return { status: response.statusCode, headers: response.headers, body: parsed, raw };
  }

  async register(username: string, password = 'correct horse battery'): Promise<Reply> {
    return this.call('POST', '/register', { json: { username, password } });
  }

  async login(username: string, password = 'correct horse battery', headers: Record<string, string> = {}): Promise<Reply> {
    return this.call('POST', '/login', { json: { username, password }, headers });
  }

  /** Registers and logs in; returns the bearer token. */
  async user(username: string, password = 'correct horse battery'): Promise<string> {
    const registered = await this.register(username, password);
    if (registered.status !== 201) throw new Error(`register ${username}: ${registered.status} ${JSON.stringify(registered.body)}`);
    const login = await this.login(username, password);
    if (login.status !== 200) throw new Error(`login ${username}: ${login.status} ${JSON.stringify(login.body)}`);
    return login.body.token as string;
  }
}
