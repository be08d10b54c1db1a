import { createHash, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';

const MIB = 1024 * 1024;

/** A file of random bytes written 1 MiB at a time; returns its hex SHA-256. */
export async function writeRandomFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const file = await open(path, 'w');
  try {
    for (let written = 0; written < bytes; written += MIB) {
      const chunk = randomBytes(Math.min(MIB, bytes - written));
      hash.update(chunk);
      await file.write(chunk);
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
