import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

export type ByteRanges = [number, number][];

export const sha256Hex = (content: Buffer | string) => createHash('sha256').update(content).digest('hex');

/** Random bytes: content that no other test (nor any other user) can have by chance. */
export const randomContent = (size: number) => randomBytes(size);

/** The answer to a proof-of-possession challenge (API.md): SHA-256 of the nonce, then each range's bytes. */
export function proofDigest(nonce: string, ranges: ByteRanges, content: Buffer): string {
  const hash = createHash('sha256').update(nonce, 'utf8');
  for (const [offset, length] of ranges) hash.update(content.subarray(offset, offset + length));
  return hash.digest('hex');
}

/** Every regular file below `directory` (relative paths), [] when it does not exist. */
export async function filesBelow(directory: string): Promise<string[]> {
  try {
    const entries = await readdir(directory, { recursive: true, withFileTypes: true });
    return entries.filter((entry) => entry.isFile()).map((entry) => path.relative(directory, path.join(entry.parentPath, entry.name)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** The blobs an fs store under `dataDir` holds, by digest. */
export async function blobsOnDisk(dataDir: string): Promise<string[]> {
  return (await filesBelow(path.join(dataDir, 'blobs'))).map((file) => path.basename(file)).sort();
}

/** The temporary files an fs store under `dataDir` holds. */
export function temporaryFiles(dataDir: string): Promise<string[]> {
  return filesBelow(path.join(dataDir, 'tmp'));
}
