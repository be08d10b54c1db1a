import { ROUTES } from '@cloudstore/shared/routes';
import type { MeReply } from '@cloudstore/shared';
import { authenticatedClient } from '../auth/session.js';
import type { Context, GlobalOptions } from '../context.js';
import { formatBytes } from '../terminal/units.js';

export type WhoamiOptions = GlobalOptions;

export async function run(options: WhoamiOptions, context: Context): Promise<void> {
  const client = await authenticatedClient(options, context);
  const { body: me } = await client.call<MeReply>('GET', ROUTES.me);
  const files = me.files === 1 ? '1 file' : `${me.files} files`;
  context.output.result(`${me.username} on ${client.origin}: ${files}, ${formatBytes(me.bytes)}`, {
    username: me.username,
    server: client.origin,
    files: me.files,
    bytes: me.bytes,
  });
}
