import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Test } from 'tap';
import { Client, type CallOptions, type Reply } from './client.js';

const require = createRequire(import.meta.url);
const PRISM_PACKAGE = require.resolve('@stoplight/prism-cli/package.json');
const PRISM_START_MS = 60_000;

/** One finding of Prism's, from its `sl-violations` response header. */
export interface Violation {
  location: string[];
  severity: string;
  code?: string | number;
  message: string;
}

export interface Exchange {
  method: string;
  path: string;
  status: number;
  /** The request was sent against the document on purpose (no token, a wrong media type). */
  isDeliberatelyInvalid: boolean;
  violations: Violation[];
}

/**
 * Stoplight Prism as a validating proxy in front of the server: it checks every request and
 * every response against the OpenAPI document (status, media type, body schema, headers,
 * security) and reports what does not match in `sl-violations`. Closed when the test ends.
 */
export async function startPrism(t: Test, documentPath: string, upstream: string): Promise<string> {
  const { bin } = JSON.parse(await readFile(PRISM_PACKAGE, 'utf8')) as { bin: { prism: string } };
  const entry = path.join(path.dirname(PRISM_PACKAGE), bin.prism);
  const prism = spawn(process.execPath, [entry, 'proxy', documentPath, upstream, '--host', '127.0.0.1', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    prism.kill();
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Prism did not start:\n${output}`)), PRISM_START_MS);
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      const listening = /Prism is listening on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (listening) {
        clearTimeout(timer);
        resolve(listening[1]);
      }
    };
    prism.stdout.on('data', collect);
    prism.stderr.on('data', collect);
    prism.once('exit', (code) => reject(new Error(`Prism exited with ${code}:\n${output}`)));
  });
}

/** Fetches the server's OpenAPI document and keeps a copy where Prism can read it. */
export async function saveDocument(serverUrl: string, directory: string, change?: (document: any) => void): Promise<string> {
  const response = await fetch(`${serverUrl}/docs/json`);
  const document = await response.json();
  change?.(document);
  const file = path.join(directory, change ? 'openapi-changed.json' : 'openapi.json');
  await writeFile(file, JSON.stringify(document));
  return file;
}

/** A test client talking through Prism that keeps every request's findings. */
export class CheckedClient extends Client {
  readonly exchanges: Exchange[] = [];
  private isDeliberatelyInvalid = false;

  override async call(method: string, path: string, options: CallOptions = {}): Promise<Reply> {
    const reply = await super.call(method, path, options);
    const header = reply.headers['sl-violations'];
    const violations: Violation[] = header === undefined ? [] : JSON.parse(String(header));
    this.exchanges.push({ method, path, status: reply.status, isDeliberatelyInvalid: this.isDeliberatelyInvalid, violations });
    return reply;
  }

  /** Runs `send` with its requests marked as breaking the document on purpose. */
  async deliberatelyInvalid<T>(send: () => Promise<T>): Promise<T> {
    this.isDeliberatelyInvalid = true;
    try {
      return await send();
    } finally {
      this.isDeliberatelyInvalid = false;
    }
  }

  /** Every finding that counts: any about a response, and any about a request sent as valid. */
  findings(): string[] {
    return this.exchanges.flatMap((exchange) =>
      exchange.violations
        .filter((violation) => violation.location[0] === 'response' || !exchange.isDeliberatelyInvalid)
        .map(
          (violation) => `${exchange.method} ${exchange.path} -> ${exchange.status}: ${violation.location.join('.')} ${violation.message}`,
        ),
    );
  }
}
