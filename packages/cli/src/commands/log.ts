import { LIST_LIMIT_MAX } from '@cloudstore/shared/limits';
import { ROUTES } from '@cloudstore/shared/routes';
import type { AuditEvent, AuditReply } from '@cloudstore/shared';
import { authenticatedClient } from '../auth/session.js';
import type { Context, GlobalOptions } from '../context.js';

export interface LogOptions extends GlobalOptions {
  /** The most events to print, newest first. */
  limit: number;
}

/** The audit trail of the user's account and files, newest first, fetched a page at a time. */
export async function run(options: LogOptions, context: Context): Promise<void> {
  const client = await authenticatedClient(options, context);
  let remaining = options.limit;
  let cursor: string | undefined;
  do {
    const query = { limit: String(Math.min(remaining, LIST_LIMIT_MAX)), cursor };
    const { body } = await client.call<AuditReply>('GET', ROUTES.audit, { query });
    const events = body.events.slice(0, remaining);
    const actorWidth = Math.max(1, ...events.map((event) => (event.actor ?? '-').length));
    const addressWidth = Math.max(1, ...events.map((event) => (event.address ?? '-').length));
    for (const event of events) context.output.result(humanLine(event, actorWidth, addressWidth), event);
    remaining -= events.length;
    cursor = body.next_cursor ?? undefined;
  } while (cursor && remaining > 0);
}

/** Time (UTC), action, who, from where, then what it was about, last where spaces in a name cannot shift a column. */
function humanLine(event: AuditEvent, actorWidth: number, addressWidth: number): string {
  const time = event.time.slice(0, 19).replace('T', ' ');
  const actor = (event.actor ?? '-').padEnd(actorWidth);
  const address = (event.address ?? '-').padEnd(addressWidth);
  return `${time}  ${event.action.padEnd(12)}  ${actor}  ${address}  ${detail(event)}`;
}

function detail(event: AuditEvent): string {
  const file = `'${event.filename}'`;
  switch (event.action) {
    case 'share':
      return `${file} of ${event.owner} with ${event.target}`;
    case 'revoke':
      return `${file} of ${event.owner} from ${event.target}`;
    case 'transfer':
      return `${file} from ${event.owner} to ${event.target}`;
    case 'delete':
      return `${file} of ${event.owner}`;
    case 'login':
      return `as ${event.target}`;
    case 'login_failed':
      return `wrong password for ${event.target}`;
  }
}
