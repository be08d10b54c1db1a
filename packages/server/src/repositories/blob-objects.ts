import type { Knex } from 'knex';

/** The object that holds each digest's bytes on an object store (migration 202612021200_blob_objects). */
export class BlobObjectRepository {
  constructor(private readonly db: Knex) {}

  async objectOf(sha256: string): Promise<string | undefined> {
    const row = await this.db('blob_objects').where('sha256', sha256).first('object_name');
    return row ? String(row.object_name) : undefined;
  }

  /** Points `sha256` at `objectName`, replacing an object that another write recorded before. */
  async record(sha256: string, objectName: string, now: number): Promise<void> {
    await this.db('blob_objects')
      .insert({ sha256, object_name: objectName, created_at: now })
      .onConflict('sha256')
      .merge(['object_name', 'created_at']);
  }

  /** Forgets the object of `sha256`; returns its name, if there was one. */
  async forget(sha256: string): Promise<string | undefined> {
    const objectName = await this.objectOf(sha256);
    if (objectName !== undefined) await this.db('blob_objects').where({ sha256, object_name: objectName }).delete();
    return objectName;
  }

  /** Up to `limit` recorded digests after `after`, in order: one page of them all. */
  async digestsAfter(after: string, limit: number): Promise<string[]> {
    const rows = await this.db('blob_objects').where('sha256', '>', after).orderBy('sha256').limit(limit).select('sha256');
    return rows.map((row: { sha256: string }) => String(row.sha256));
  }

  /** Which of `objectNames` some digest points at. */
  async recorded(objectNames: string[]): Promise<Set<string>> {
    if (objectNames.length === 0) return new Set();
    const rows = await this.db('blob_objects').whereIn('object_name', objectNames).select('object_name');
    return new Set(rows.map((row: { object_name: string }) => String(row.object_name)));
  }
}
