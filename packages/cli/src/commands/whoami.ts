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
  const quota =
    me.quota_bytes === null
      ? 'no quota'
      : `quota ${formatBytes(me.quota_bytes)} (${Math.floor((100 * me.logical_bytes) / me.quota_bytes)}% used)`;
  context.output.result(
    `${me.username} on ${client.origin}: ${files}, ${formatBytes(me.logical_bytes)} (${formatBytes(me.stored_bytes)} stored after deduplication), ${quota}`,
    {
      username: me.username,
      server: client.origin,
      files: me.files,
      bytes: me.bytes,
      logical_bytes: me.logical_bytes,
      stored_bytes: me.stored_bytes,
      quota_bytes: me.quota_bytes,
    },
  );
}
