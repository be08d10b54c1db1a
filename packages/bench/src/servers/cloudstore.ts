import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { curlOnce, headerArgs, uploadArgs, type Transfer } from '../curl.js';
import type { DatabaseKind } from '../options.js';
import { SERVER_MAIN } from '../repository-paths.js';
import { startServer, type ServerProcess } from '../subprocess.js';
import type { TestFile } from '../test-files.js';
import { checkedTransfer, type TransferSubject } from '../transfer-subject.js';
import { createBenchDatabase, type BenchDatabase } from './mariadb.js';

export const DATABASE_LABELS: Record<DatabaseKind, string> = { sqlite: 'SQLite', mariadb: 'MariaDB' };

export interface CloudStoreLaunch {
  runDirectory: string;
  database: DatabaseKind;
  /** Names the data directory and log, when one run starts several instances. */
  instance: string;
  /** Node flags before the script, such as --cpu-prof. */
  nodeArguments?: string[];
  /** More settings, such as BLOB_STORE (see `s3Settings`). */
  env?: NodeJS.ProcessEnv;
  /** A running instance whose database and account this one shares (several instances, one service). */
  shared?: CloudStore;
}

/** The settings of a server whose content lives on the S3 endpoint at `url` (s3rver: bucket `bench`, its built-in keys). */
export function s3Settings(url: string, prefix: string): NodeJS.ProcessEnv {
  return {
    BLOB_STORE: `s3://bench/${prefix}`,
    AWS_ENDPOINT_URL_S3: url,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    S3_FORCE_PATH_STYLE: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/**
 * Our server, built, started as a user starts it (`node packages/server/dist/src/main.js`) on
 * port 0 with logging at info, the default, into a file; with an account logged in.
 */
export class CloudStore {
  private constructor(
    readonly database: DatabaseKind,
    readonly server: ServerProcess,
    readonly dataDirectory: string,
    readonly databaseUrl: string | null,
    private readonly benchDatabase: BenchDatabase | null,
    readonly username: string,
    readonly password: string,
    readonly token: string,
    /** Where requests go: the server itself, or a proxy in front of it (`via`). */
    private readonly baseUrl: string | null = null,
  ) {}

  /** The same account, reached through `url` (a proxy in front of this instance and others). */
  via(url: string): CloudStore {
    return new CloudStore(
      this.database,
      this.server,
      this.dataDirectory,
      this.databaseUrl,
      null,
      this.username,
      this.password,
      this.token,
      url,
    );
  }

  static async start(launch: CloudStoreLaunch): Promise<CloudStore> {
    const dataDirectory = path.join(launch.runDirectory, `cloudstore-${launch.instance}-${launch.database}`);
    await mkdir(dataDirectory, { recursive: true });
    const { shared } = launch;
    const benchDatabase = launch.database === 'mariadb' && !shared ? await createBenchDatabase() : null;
    const databaseUrl = shared ? shared.databaseUrl : (benchDatabase?.url ?? null);
    let server: ServerProcess;
    try {
      server = await startServer({
        label: `cloudstore (${DATABASE_LABELS[launch.database]})`,
        command: process.execPath,
        args: [...(launch.nodeArguments ?? []), SERVER_MAIN],
        cwd: dataDirectory,
        env: {
          ...process.env,
          PORT: '0',
          LISTEN_HOST: '127.0.0.1',
          DATA_DIR: dataDirectory,
          LOG_LEVEL: 'info',
          DATABASE_URL: databaseUrl ?? '',
          // The background scrub reads each new upload back once; here it would compete with
          // the transfers being measured (the peers and baselines do no such thing).
          SCRUB_BYTES_PER_SECOND: '0',
          ...launch.env,
        },
        logFile: path.join(launch.runDirectory, `cloudstore-${launch.instance}-${launch.database}.log`),
      });
    } catch (error) {
      await benchDatabase?.drop();
      throw error;
    }
    if (shared)
      return new CloudStore(launch.database, server, dataDirectory, databaseUrl, null, shared.username, shared.password, shared.token);
    const username = `bench_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(18).toString('base64url');
    const token = await register(server.url, username, password).catch(async (error: unknown) => {
      await server.stop();
      await benchDatabase?.drop();
      throw error;
    });
    return new CloudStore(launch.database, server, dataDirectory, databaseUrl, benchDatabase, username, password, token);
  }

  /** Another account on the same server; returns its token. */
  async extraAccount(): Promise<string> {
    return register(this.url, `bench_${randomBytes(4).toString('hex')}`, randomBytes(18).toString('base64url'));
  }

  get label(): string {
    return DATABASE_LABELS[this.database];
  }

  get url(): string {
    return this.baseUrl ?? this.server.url;
  }

  get authorization(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }

  /**
   * Without the trailing slash (API.md: both work): given a URL whose path ends in '/', `curl -T`
   * appends the local file's name to it.
   */
  fileUrl(name: string): string {
    return `${this.url}/cloud/my-drive?filename=${encodeURIComponent(name)}`;
  }

  /** A JSON request with the account's token; returns the status and parsed body. */
  async api(method: string, route: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${this.url}${route}`, {
      method,
      headers: { ...this.authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  }

  async remove(name: string): Promise<void> {
    const { status, body } = await this.api('DELETE', `/cloud/my-drive/?filename=${encodeURIComponent(name)}`);
    if (status !== 200) throw new Error(`delete of ${name} answered ${status} ${String(body.code ?? '')}`);
  }

  /** The raw route (API.md, "Raw upload"): the bytes as the body, the digest in Repr-Digest. */
  async rawUpload(file: TestFile, name: string): Promise<Transfer> {
    const headers = { ...this.authorization, 'content-type': 'application/octet-stream', 'repr-digest': file.reprDigest };
    const transfer = checkedTransfer(await curlOnce([...uploadArgs(file.path, 'POST', headers), this.fileUrl(name)]), 'up', file.size);
    return checkStored(transfer, file);
  }

  /** The multipart route (API.md, "Upload"), fields before the file part as a browser form sends them. */
  async multipartUpload(file: TestFile, name: string): Promise<Transfer> {
    const transfer = await curlOnce([
      ...headerArgs(this.authorization),
      '-F',
      `filename=${name}`,
      '-F',
      `sha256=${file.sha256}`,
      '-F',
      `file=@${file.path};type=application/octet-stream;filename=${name}`,
      `${this.url}/cloud/my-drive/`,
    ]);
    return checkStored(transfer, file);
  }

  async download(name: string, output: string): Promise<Transfer> {
    return curlOnce([...headerArgs(this.authorization), '-o', output, this.fileUrl(name)]);
  }

  rawSubject(): TransferSubject {
    return this.subject('raw', 'POST application/octet-stream with Repr-Digest', (file, name) => this.rawUpload(file, name));
  }

  multipartSubject(): TransferSubject {
    return this.subject('multipart', 'POST multipart/form-data with the sha256 field', (file, name) => this.multipartUpload(file, name));
  }

  private subject(route: string, how: string, upload: TransferSubject['upload']): TransferSubject {
    return {
      label: `cloudstore ${route} (${this.label})`,
      role: 'ours',
      pid: this.server.pid,
      note: `${how}: SHA-256 verified, fsync, on ${this.label}, logging at info`,
      upload,
      download: (name, output) => this.download(name, output),
      remove: (name) => this.remove(name),
    };
  }

  /** What the server logged at error level or above (pino JSON lines), to say why requests failed. */
  async loggedErrors(): Promise<string[]> {
    const lines = (await readFile(this.server.logFile, 'utf8')).split('\n');
    const errors: string[] = [];
    for (const line of lines) {
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
        if ((entry.level ?? 0) >= 50) errors.push(entry.err?.message ?? entry.msg ?? line);
      } catch {
        // Not a log line of pino's.
      }
    }
    return errors;
  }

  async stop(): Promise<void> {
    await this.server.stop();
    await this.benchDatabase?.drop();
  }
}

async function register(url: string, username: string, password: string): Promise<string> {
  const post = (route: string) =>
    fetch(`${url}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
  const registered = await post('/register');
  if (registered.status !== 201) throw new Error(`register answered ${registered.status}: ${await registered.text()}`);
  const login = await post('/login');
  if (login.status !== 200) throw new Error(`login answered ${login.status}: ${await login.text()}`);
  return ((await login.json()) as { token: string }).token;
}

function checkStored<T extends { body: string }>(transfer: T, file: TestFile): T {
  const reply = JSON.parse(transfer.body) as { sha256?: string; size?: number };
  if (reply.sha256 !== file.sha256 || reply.size !== file.size) {
    throw new Error(`the server stored ${String(reply.size)} bytes with SHA-256 ${String(reply.sha256)}, not the file`);
  }
  return transfer;
}
