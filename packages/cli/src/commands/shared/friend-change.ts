import type { PermitBody } from '@cloudstore/shared';
import type { ApiClient } from '../../api/client.js';
import { authenticatedClient } from '../../auth/session.js';
import type { Context, GlobalOptions } from '../../context.js';
import { forEachItem } from './batch.js';
import { checkedFilename } from './filename.js';

/** `share` and `unshare`: one file, several friends, one request and one result line each. */
export interface FriendsChange extends GlobalOptions {
  name: string;
  usernames: string[];
  owner?: string;
}

export async function forEachFriend(
  options: FriendsChange,
  context: Context,
  change: (client: ApiClient, body: PermitBody) => Promise<void>,
): Promise<void> {
  const filename = checkedFilename(options.name);
  const client = await authenticatedClient(options, context);
  await forEachItem(
    context.output,
    options.usernames,
    (username) => ({ label: `${filename} (${username})`, fields: { filename, username } }),
    (username) => change(client, { filename, username, owner: options.owner }),
  );
}
