import type { FileEntry } from '@cloudstore/shared';
import { listPages } from '../api/listing.js';
import { authenticatedClient } from '../auth/session.js';
import type { Context, GlobalOptions } from '../context.js';
import { formatBytes } from '../terminal/units.js';

export interface LsOptions extends GlobalOptions {
  owned: boolean;
  shared: boolean;
}

/** Every file the user owns or is a friend of (or one of the two), printed page by page. */
export async function run(options: LsOptions, context: Context): Promise<void> {
  const client = await authenticatedClient(options, context);
  const wanted = (entry: FileEntry) => (options.owned ? entry.role === 'owner' : options.shared ? entry.role === 'friend' : true);
  for await (const page of listPages(client)) {
    const entries = page.filter(wanted);
    const ownerWidth = Math.max(0, ...entries.map((entry) => entry.owner.length));
    for (const entry of entries) context.output.result(humanLine(entry, ownerWidth), entry);
  }
}

/**
 * Size, last change, owner, then the name last, where spaces in it cannot shift a column; content
 * the server found damaged (not served until re-uploaded) is marked after the name.
 */
function humanLine(entry: FileEntry, ownerWidth: number): string {
  const updated = entry.updated_at.slice(0, 16).replace('T', ' ');
  const damaged = entry.damaged ? '  [damaged on server]' : '';
  return `${formatBytes(entry.size).padStart(10)}  ${updated}  ${entry.owner.padEnd(ownerWidth)}  ${entry.filename}${damaged}`;
}
