import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

/**
 * Adds `length` bytes of `file` from `start` to `hash`, read through `buffer` a buffer's length at
 * a time. Returns how many it added: fewer than `length` when the file ends first, which each
 * caller judges for itself (a resumed download's prefix must be whole; a proof's range may not be).
 */
export async function hashRange(file: FileHandle, hash: Hash, buffer: Buffer, start: number, length: number): Promise<number> {
  let hashed = 0;
  while (hashed < length) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, length - hashed), start + hashed);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    hashed += bytesRead;
  }
  return hashed;
}
