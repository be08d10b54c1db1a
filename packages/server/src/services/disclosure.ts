import { createHmac, randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { BlobRecord, FileRepository } from '../repositories/files.js';
import type { SecretRepository } from '../repositories/secrets.js';

/** The name of the existence-privacy key in `server_secrets`. */
const KEY_NAME = 'disclosure';

/**
 * Existence privacy (API.md): whether the server may admit to a user that it holds some
 * content. Yes when the user can already read a file with that content, or when the content
 * is popular: at least T distinct users own a file with it. T belongs to the content, not to a
 * stored copy of it: derived from its digest under a key kept in the database, it is the same
 * every time the content is stored again and on every instance, so re-uploading content never
 * moves its disclosure point. `DEDUP_THRESHOLD_MAX=1` discloses everything to whoever proves possession.
 */
export class Disclosure {
  private constructor(
    private readonly config: Pick<Config, 'dedupThresholdMax'>,
    private readonly key: Buffer,
  ) {}

  /** With the instances' shared key, made by the first instance that starts. */
  static async open(config: Pick<Config, 'dedupThresholdMax'>, secrets: SecretRepository): Promise<Disclosure> {
    const key = await secrets.getOrCreate(KEY_NAME, () => randomBytes(32).toString('base64url'));
    return new Disclosure(config, Buffer.from(key, 'base64url'));
  }

  /**
   * T = 2 + (HMAC-SHA-256 of the digest's bytes, read as an unsigned big-endian integer)
   * mod (N − 1): uniform over 2..N, N being DEDUP_THRESHOLD_MAX as it is now. 1 while N is 1.
   */
  threshold(sha256: string): number {
    const mac = createHmac('sha256', this.key).update(Buffer.from(sha256, 'hex')).digest('hex');
    const max = this.config.dedupThresholdMax;
    return max === 1 ? 1 : 2 + Number(BigInt(`0x${mac}`) % BigInt(max - 1));
  }

  /**
   * Whether `userId` may learn that the content of digest `sha256` is stored (`blob`, or
   * undefined for content never seen). Both cases compute the threshold and run the same
   * query with the same bounds, so that a refusal takes the same time whether or not the content is stored.
   */
  async mayDisclose(files: FileRepository, userId: number, sha256: string, blob: BlobRecord | undefined): Promise<boolean> {
    const threshold = this.threshold(sha256);
    const { isReader, owners } = await files.disclosureFacts(userId, blob?.id ?? 0, threshold);
    return blob !== undefined && (isReader || owners >= threshold);
  }
}
