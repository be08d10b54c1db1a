import { LIST_LIMIT_MAX } from '@cloudstore/shared/limits';
import { ROUTES } from '@cloudstore/shared/routes';
import type { FileEntry, ListReply } from '@cloudstore/shared';
import { authenticatedClient } from '../auth/session.js';
import type { Context, GlobalOptions } from '../context.js';
import { formatBytes } from '../units.js';

export interface LsOptions extends GlobalOptions {
  owned: boolean;
  shared: boolean;
}

/** Every file the user owns or is a friend of, page by page, so that a long list starts at once. */
export async function run(options: LsOptions, context: Context): Promise<void> {
  const client = await authenticatedClient(options, context);
  const wanted = (entry: FileEntry) => (options.owned ? entry.role === 'owner' : options.shared ? entry.role === 'friend' : true);
  let cursor: string | undefined;
  do {
    const { body } = await client.call<ListReply>('GET', ROUTES.drivePermit, { query: { limit: String(LIST_LIMIT_MAX), cursor } });
    const entries = body.files.filter(wanted);
    const ownerWidth = Math.max(0, ...entries.map((entry) => entry.owner.length));
    for (const entry of entries) context.output.result(humanLine(entry, ownerWidth), entry);
    cursor = body.next_cursor ?? undefined;
  } while (cursor);
}

/** Size, last change, owner, then the name last, where spaces in it cannot shift a column. */
function humanLine(entry: FileEntry, ownerWidth: number): string {
  const updated = entry.updated_at.slice(0, 16).replace('T', ' ');
  return `${formatBytes(entry.size).padStart(10)}  ${updated}  ${entry.owner.padEnd(ownerWidth)}  ${entry.filename}`;
}
