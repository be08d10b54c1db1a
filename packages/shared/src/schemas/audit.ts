import { Type, type Static } from '@sinclair/typebox';
import { ListQuery } from './sharing.js';

export const AUDIT_ACTIONS = ['share', 'revoke', 'transfer', 'delete', 'login', 'login_failed'] as const;

const Name = (description: string) => Type.Union([Type.String(), Type.Null()], { description });

export const AuditEvent = Type.Object({
  time: Type.String({ format: 'date-time', description: 'when it happened (UTC)' }),
  action: Type.Union(
    AUDIT_ACTIONS.map((action) => Type.Literal(action)),
    { description: 'share, revoke, transfer, delete, login, or login_failed (a wrong password for this account)' },
  ),
  actor: Name('who did it; null for login_failed'),
  address: Name('the client address the request came from'),
  filename: Name('the file, for share, revoke, transfer and delete'),
  owner: Name("the file's owner when it happened (for transfer, the one who handed it over)"),
  target: Name('the user the action concerns: the friend shared with or revoked, the new owner, the account logged into'),
});
export type AuditEvent = Static<typeof AuditEvent>;

/** `?limit=&cursor=`, as the listing's. */
export const AuditQuery = ListQuery;
export type AuditQuery = Static<typeof AuditQuery>;

export const AuditReply = Type.Object({
  events: Type.Array(AuditEvent),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});
export type AuditReply = Static<typeof AuditReply>;
