import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CliUser, RunOptions } from './cli.js';
import type { Proxy } from './proxy.js';

export const MIB = 1024 * 1024;

/**
 * The resumable route from 8 MiB instead of 64 MiB, and retry waits of 10 ms instead of
 * seconds: the same code paths, in test files that stay under a minute.
 */
export const RESUMABLE_TEST_SETTINGS: RunOptions = {
  env: { CLOUDSTORE_TEST_RESUMABLE_BYTES: String(8 * MIB), CLOUDSTORE_TEST_RETRY_SECOND_MS: '10' },
};

/** The records that let a later `put` resume an upload. */
export const uploadStates = (user: CliUser) =>
  readdir(join(user.home, '.local', 'state', 'cloudstore', 'uploads')).catch(() => [] as string[]);

/** `METHOD TARGET STATUS` of each request, an upload's id shown as ID. */
export const requestSummary = (proxy: Proxy) =>
  proxy.requests.map((request) => `${request.method} ${request.target.replace(/^(\/cloud\/uploads\/)[^/?]+$/, '$1ID')} ${request.status}`);

export const uploadOffsetOf = (headers: string) => Number(/\r\nupload-offset: (\d+)/i.exec(headers)?.[1]);
