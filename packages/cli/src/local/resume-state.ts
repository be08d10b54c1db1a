import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Small JSON records that let a later run resume a transfer (CLI.md, "Resumable"), one file
 * per transfer in a private directory, named by a digest of what identifies the transfer.
 * A record that cannot be read is treated as absent: the transfer then starts over.
 */
export class ResumeStates<T extends object> {
  constructor(
    private readonly directory: string,
    /** A record untouched for this long belongs to an abandoned transfer and is removed. */
    private readonly maxAgeMs: number,
    private readonly now: () => number,
  ) {}

  static keyOf(parts: readonly unknown[]): string {
    return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
  }

  async load(key: string): Promise<T | undefined> {
    try {
      const parsed = JSON.parse(await readFile(this.pathOf(key), 'utf8')) as unknown;
      if (parsed !== null && typeof parsed === 'object') return parsed as T;
    } catch {
      // Missing, unreadable or not JSON: nothing to resume.
    }
    await this.remove(key);
    return undefined;
  }

  /** Written beside and renamed over, so that a crash never leaves half a record; private to the user (it names uploads). */
  async save(key: string, value: T): Promise<void> {
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    const temporary = join(this.directory, `.${key}.${randomBytes(6).toString('hex')}`);
    await writeFile(temporary, JSON.stringify(value), { mode: 0o600, flag: 'wx' });
    await rename(temporary, this.pathOf(key));
  }

  async remove(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  /** Removes the records of transfers nobody came back to (the server has forgotten them too). */
  async removeAbandoned(): Promise<void> {
    const names = await readdir(this.directory).catch(() => [] as string[]);
    const oldest = this.now() - this.maxAgeMs;
    for (const name of names) {
      const path = join(this.directory, name);
      const stats = await stat(path).catch(() => undefined);
      if (stats && stats.mtimeMs < oldest) await rm(path, { force: true });
    }
  }

  private pathOf(key: string): string {
    return join(this.directory, `${key}.json`);
  }
}
