import { ROUTES } from '@cloudstore/shared/routes';
import type { ShareReply } from '@cloudstore/shared';
import type { Context } from '../context.js';
import { forEachFriend, type FriendsChange } from './shared/friend-change.js';

export type ShareOptions = FriendsChange;

export async function run(options: ShareOptions, context: Context): Promise<void> {
  await forEachFriend(options, context, async (client, body) => {
    const { statusCode, body: reply } = await client.call<ShareReply>('POST', ROUTES.drivePermit, { json: body });
    const already = statusCode === 200 ? ' (already shared)' : '';
    context.output.result(`${reply.filename}: shared with ${reply.username}${already}`, reply);
  });
}
