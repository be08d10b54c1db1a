import { ROUTES } from '@cloudstore/shared/routes';
import type { DeleteReply } from '@cloudstore/shared';
import { authenticatedClient } from '../auth/session.js';
import type { Context, GlobalOptions } from '../context.js';
import { forEachItem } from './shared/batch.js';
import { checkedFilename } from './shared/filename.js';

export interface RmOptions extends GlobalOptions {
  names: string[];
  owner?: string;
}

export async function run(options: RmOptions, context: Context): Promise<void> {
  const client = await authenticatedClient(options, context);
  await forEachItem(
    context.output,
    options.names,
    (name) => ({ label: name, fields: { filename: name } }),
    async (name) => {
      const filename = checkedFilename(name);
      const { body } = await client.call<DeleteReply>('DELETE', ROUTES.myDrive, { json: { filename, owner: options.owner } });
      context.output.result(`${body.filename}: deleted`, body);
    },
  );
}
