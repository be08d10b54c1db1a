import { ROUTES } from '@cloudstore/shared/routes';
import type { RevokeReply } from '@cloudstore/shared';
import type { Context } from '../context.js';
import { forEachFriend, type FriendsChange } from './shared/friend-change.js';

export type UnshareOptions = FriendsChange;

export async function run(options: UnshareOptions, context: Context): Promise<void> {
  await forEachFriend(options, context, async (client, body) => {
    const { body: reply } = await client.call<RevokeReply>('DELETE', ROUTES.drivePermit, { json: body });
    context.output.result(`${reply.filename}: ${reply.username} can no longer read it`, reply);
  });
}
