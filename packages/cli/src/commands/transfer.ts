import { ROUTES } from '@cloudstore/shared/routes';
import type { TransferReply } from '@cloudstore/shared';
import { authenticatedClient } from '../auth/session.js';
import type { Context, GlobalOptions } from '../context.js';
import { forOneItem } from './shared/batch.js';
import { checkedFilename } from './shared/filename.js';

export interface TransferOptions extends GlobalOptions {
  name: string;
  username: string;
  owner?: string;
}

export async function run(options: TransferOptions, context: Context): Promise<void> {
  const filename = checkedFilename(options.name);
  const client = await authenticatedClient(options, context);
  await forOneItem(context.output, { label: filename, fields: { filename, username: options.username } }, async () => {
    const { body } = await client.call<TransferReply>('PUT', ROUTES.drivePermit, {
      json: { filename, username: options.username, owner: options.owner },
    });
    context.output.result(`${body.filename}: now owned by ${body.owner}; ${body.previous_owner} keeps read access`, body);
  });
}
