/**
 * Recently served small blobs, whole, by digest; the least recently used go first. The caller
 * keeps only bytes that hash to their digest, so an entry is never stale nor damaged: it may only
 * be unreachable, and every request reaches content through the database (its file, its owner,
 * its quarantine), read before the bytes are. Deleting a blob drops its entry all the same.
 */
export class SmallBlobCache {
  /** Map order is recency: the first key is the least recently used. */
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly capacityBytes: number) {}

  /** Bytes `start` to `start + length` of `sha256`, when it is kept. */
  get(sha256: string, start: number, length: number): Buffer | undefined {
    const kept = this.entries.get(sha256);
    if (!kept || start + length > kept.length) return undefined;
    this.entries.delete(sha256);
    this.entries.set(sha256, kept);
    return kept.subarray(start, start + length);
  }

  /** Keeps the whole blob `sha256`, `bytes` (checked against it by the caller). */
  set(sha256: string, bytes: Buffer): void {
    if (bytes.length > this.capacityBytes || this.entries.has(sha256)) return;
    this.entries.set(sha256, bytes);
    this.bytes += bytes.length;
    for (const [oldest, buffer] of this.entries) {
      if (this.bytes <= this.capacityBytes) break;
      this.entries.delete(oldest);
      this.bytes -= buffer.length;
    }
  }

  delete(sha256: string): void {
    const kept = this.entries.get(sha256);
    if (!kept) return;
    this.entries.delete(sha256);
    this.bytes -= kept.length;
  }

  get size(): number {
    return this.bytes;
  }
}
