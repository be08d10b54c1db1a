import { ROUTES } from '@cloudstore/shared/routes';
import type { FriendsReply } from '@cloudstore/shared';
import { authenticatedClient } from '../auth/session.js';
import type { Context, GlobalOptions } from '../context.js';
import { forOneItem } from './shared/batch.js';
import { checkedFilename } from './shared/filename.js';

export interface FriendsOptions extends GlobalOptions {
  name: string;
  owner?: string;
}

export async function run(options: FriendsOptions, context: Context): Promise<void> {
  const filename = checkedFilename(options.name);
  const client = await authenticatedClient(options, context);
  await forOneItem(context.output, { label: filename, fields: { filename } }, async () => {
    const path = `${ROUTES.driveShare}${encodeURIComponent(filename)}/`;
    const { body } = await client.call<FriendsReply>('GET', path, { query: { owner: options.owner } });
    if (body.friends.length === 0) context.output.notice(`${body.filename}: shared with nobody`);
    for (const friend of body.friends) {
      context.output.result(`${friend.username}  since ${friend.since.slice(0, 16).replace('T', ' ')} UTC`, {
        filename: body.filename,
        owner: body.owner,
        username: friend.username,
        since: friend.since,
      });
    }
  });
}
