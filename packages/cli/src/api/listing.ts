import { LIST_LIMIT_MAX } from '@cloudstore/shared/limits';
import { ROUTES } from '@cloudstore/shared/routes';
import type { FileEntry, ListReply } from '@cloudstore/shared';
import type { ApiClient } from './client.js';

/** Every file the user owns or is a friend of, a page at a time, so that a long list starts at once. */
export async function* listPages(client: ApiClient, signal?: AbortSignal): AsyncGenerator<FileEntry[]> {
  let cursor: string | undefined;
  do {
    const { body } = await client.call<ListReply>('GET', ROUTES.drivePermit, { query: { limit: String(LIST_LIMIT_MAX), cursor }, signal });
    yield body.files;
    cursor = body.next_cursor ?? undefined;
  } while (cursor);
}
