import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { stopwatch } from '../measure.js';
import { runCommand } from '../subprocess.js';
import type { TestFile } from '../test-files.js';

/**
 * How fast this machine hashes: the ceiling of any hashed upload, and half of what the CLI's
 * `put` must do before it sends a byte.
 */

/** The file in memory, read (and so faulted in) before any timing. */
export async function loadIntoMemory(file: TestFile): Promise<Buffer> {
  return readFile(file.path);
}

/** Seconds for crypto's SHA-256 of content already in memory. */
export function sha256InMemorySeconds(content: Buffer, file: TestFile): number {
  const elapsed = stopwatch();
  const digest = createHash('sha256').update(content).digest('hex');
  const seconds = elapsed();
  if (digest !== file.sha256) throw new Error('crypto computed another SHA-256 than the file has');
  return seconds;
}

/** Seconds for `openssl dgst -sha256 FILE`, start-up included, as a user would wait for it. */
export async function opensslSeconds(file: TestFile): Promise<number> {
  const result = await runCommand('openssl', ['dgst', '-sha256', '-r', file.path]);
  if (result.code !== 0) throw new Error(`openssl failed: ${result.stderr.trim()}`);
  if (!result.stdout.startsWith(file.sha256)) throw new Error('openssl computed another SHA-256 than the file has');
  return result.seconds;
}

export async function hasOpenssl(): Promise<boolean> {
  try {
    return (await runCommand('openssl', ['version'])).code === 0;
  } catch {
    return false;
  }
}
