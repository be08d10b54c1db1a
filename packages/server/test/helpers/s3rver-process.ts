import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import type { S3Endpoint } from './s3-server.js';

const MAIN = fileURLToPath(new URL('./s3rver-main.js', import.meta.url));

/**
 * s3rver in a process of its own, with OpenSSL's legacy provider. s3rver 3 makes its
 * ListObjectsV2 continuation tokens with DES, which OpenSSL 3 offers only there: in the test's
 * own process every truncated listing (MaxKeys 1 over two objects: the server's start-up and
 * /health probe) is a 500. Tests that start a server on a bucket holding several objects use this.
 */
export async function startS3rverProcess(t: Test): Promise<S3Endpoint> {
  const directory = await mkdtemp(path.join(tmpdir(), 'cloudstore-s3rver-'));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', MAIN, directory], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await rm(directory, { recursive: true, force: true });
  });
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    const port = Number(/^listening (\d+)$/.exec(line)?.[1]);
    if (port > 0) return { engine: 's3rver', url: `http://127.0.0.1:${port}`, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  }
  throw new Error(`s3rver exited before listening (exit ${child.exitCode})`);
}
