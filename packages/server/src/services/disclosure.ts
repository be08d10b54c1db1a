import { randomInt } from 'node:crypto';
import type { Config } from '../config.js';
import type { BlobRecord, FileRepository } from '../repositories/files.js';

/** The thresholds drawn while DEDUP_THRESHOLD_MAX is 1 (API.md). */
const DEFAULT_THRESHOLD_MAX = 20;

/**
 * Existence privacy (API.md): whether the server may admit to a user that it holds some
 * content. Yes when the user can already read a file with that content, or when the content
 * is popular: at least T distinct users own a file with it, T being the content's secret
 * threshold. `DEDUP_THRESHOLD_MAX=1` discloses everything to whoever proves possession.
 */
export class Disclosure {
  constructor(private readonly config: Pick<Config, 'dedupThresholdMax'>) {}

  /** The secret threshold of a newly stored content, drawn once from a CSPRNG. */
  drawThreshold(): number {
    const max = this.config.dedupThresholdMax === 1 ? DEFAULT_THRESHOLD_MAX : this.config.dedupThresholdMax;
    return randomInt(2, max + 1);
  }

  /**
   * Runs the same query whether or not the content is stored (`blob` undefined), so that a
   * refused claim takes the same time for stored and never-seen content.
   */
  async mayDisclose(files: FileRepository, userId: number, blob: BlobRecord | undefined): Promise<boolean> {
    const threshold = blob?.disclosureThreshold ?? DEFAULT_THRESHOLD_MAX;
    const { isReader, owners } = await files.disclosureFacts(userId, blob?.id ?? 0, threshold);
    if (!blob) return false;
    return this.config.dedupThresholdMax === 1 || isReader || owners >= threshold;
  }
}
