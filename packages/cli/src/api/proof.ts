import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { IO_CHUNK_BYTES } from '@cloudstore/shared/limits';
import type { Challenge } from '@cloudstore/shared';
import { hashRange } from '../local/hash-range.js';

/**
 * The answer to a proof-of-possession challenge (API.md, "Claim by digest"): the hex SHA-256 of
 * the nonce's UTF-8 bytes followed by each challenged range of the local file, in the order
 * given. Only those ranges are read. A range past the end of the file contributes what there
 * is: the answer is then wrong, the server refuses it, and the bytes are uploaded instead.
 */
export async function answerChallenge(path: string, challenge: Challenge): Promise<string> {
  const hash = createHash('sha256').update(challenge.nonce, 'utf8');
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(IO_CHUNK_BYTES);
    for (const [offset, length] of challenge.ranges) await hashRange(file, hash, buffer, offset, length);
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}
