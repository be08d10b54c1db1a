import type { PasswordHashCost } from '../config.js';
import { PasswordPool } from './password-pool.js';

/**
 * Argon2id password hashing on a pool of worker threads (password-pool.ts). Argon2 takes the
 * whole password (no 72-byte truncation). `verifyOrWaste` checks unknown users against a dummy
 * hash of the same cost, so that an unknown user and a wrong password cost the same time.
 */
export class Passwords {
  private constructor(
    private readonly pool: PasswordPool,
    private readonly cost: PasswordHashCost,
    private readonly dummyHash: string,
  ) {}

  static async create(concurrency: number, cost: PasswordHashCost): Promise<Passwords> {
    const pool = new PasswordPool(concurrency);
    const dummyHash = await pool.run<string>({ password: 'dummy password that matches nothing', ...cost });
    return new Passwords(pool, cost, dummyHash);
  }

  hash(password: string): Promise<string> {
    return this.pool.run<string>({ password, ...this.cost });
  }

  async verifyOrWaste(hash: string | undefined, password: string): Promise<boolean> {
    const matches = await this.pool.run<boolean>({ password, hash: hash ?? this.dummyHash });
    return hash !== undefined && matches;
  }

  /**
   * Whether a stored hash was made at another cost (by an earlier version, or before the cost
   * changed): the next successful login replaces it, so that every account costs the same to check.
   */
  isOutdated(hash: string): boolean {
    const parameters = Object.fromEntries((hash.split('$')[3] ?? '').split(',').map((pair) => pair.split('=') as [string, string]));
    return (
      !hash.startsWith('$argon2id$') ||
      Number(parameters.m) !== this.cost.memoryKiB ||
      Number(parameters.t) !== this.cost.passes ||
      Number(parameters.p) !== 1
    );
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
