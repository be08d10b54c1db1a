import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * The payloads: incompressible, reproducible (AES-CTR keystream of a key derived from the
 * file's name) and kept between runs in a directory of their own under the system temp
 * directory, never in the repository: making 2 GiB anew on every rerun would cost more
 * than some cases.
 */

export const FILE_CACHE_DIRECTORY = path.join(tmpdir(), 'cloudstore-bench-files');
const CHUNK_BYTES = 1024 * 1024;

export interface TestFile {
  path: string;
  size: number;
  sha256: string;
  /** RFC 9530 Repr-Digest value, as our raw route and the CLI send it. */
  reprDigest: string;
}

export async function testFile(name: string, size: number): Promise<TestFile> {
  await mkdir(FILE_CACHE_DIRECTORY, { recursive: true });
  const file = path.join(FILE_CACHE_DIRECTORY, `${name}-${size}.bin`);
  const digestFile = `${file}.sha256`;
  try {
    const [existing, sha256] = await Promise.all([stat(file), readFile(digestFile, 'utf8')]);
    if (existing.size === size && /^[0-9a-f]{64}$/.test(sha256.trim())) return describe(file, size, sha256.trim());
  } catch {
    // Not made yet, or made by an older harness: make it.
  }
  const sha256 = await generate(file, name, size);
  await writeFile(digestFile, sha256);
  return describe(file, size, sha256);
}

function describe(file: string, size: number, sha256: string): TestFile {
  return { path: file, size, sha256, reprDigest: `sha-256=:${Buffer.from(sha256, 'hex').toString('base64')}:` };
}

async function generate(file: string, name: string, size: number): Promise<string> {
  const key = createHash('sha256').update(name).digest();
  const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  const hash = createHash('sha256');
  const zeros = Buffer.alloc(CHUNK_BYTES);
  // Two runs at once may make the same file: each writes its own, the content is the same.
  const partial = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.part`;
  const handle = await open(partial, 'w');
  try {
    for (let written = 0; written < size;) {
      const length = Math.min(CHUNK_BYTES, size - written);
      const chunk = cipher.update(zeros.subarray(0, length));
      hash.update(chunk);
      await handle.write(chunk);
      written += length;
    }
  } catch (error) {
    await handle.close();
    await rm(partial, { force: true });
    throw error;
  }
  await handle.close();
  await rename(partial, file);
  return hash.digest('hex');
}

/** Reads the file once so that its pages are in the page cache before a timed run reads it. */
export async function prefault(file: TestFile): Promise<void> {
  const handle = await open(file.path, 'r');
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  try {
    while ((await handle.read(buffer, 0, CHUNK_BYTES)).bytesRead > 0) {
      // Reading is the point.
    }
  } finally {
    await handle.close();
  }
}
