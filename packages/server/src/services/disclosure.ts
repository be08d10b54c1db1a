import { randomInt } from 'node:crypto';
import type { Config } from '../config.js';
import type { BlobRecord, FileRepository } from '../repositories/files.js';

/**
 * Decides whether the server may admit to a user that it holds some content
 * (API.md, "Existence privacy").
 */
export class Disclosure {
  constructor(private readonly config: Pick<Config, 'dedupThresholdMax'>) {}

  /** The secret threshold of a newly stored content, drawn once from a CSPRNG. */
  drawThreshold(): number {
    const max = this.config.dedupThresholdMax === 1 ? 20 : this.config.dedupThresholdMax;
    return randomInt(2, max + 1);
  }

  // Until existence privacy lands, anyone who proves possession may learn that content is stored.
  async mayDisclose(_files: FileRepository, _userId: number, _blob: BlobRecord): Promise<boolean> {
    return true;
  }
}
