import { AuditQuery, AuditReply } from './audit.js';
import { COMMON_ERRORS, SECURED, UNAUTHENTICATED, described } from './responses.js';

/** The full schema of the audit route: validation, serialization and OpenAPI in one. */

const list = {
  tags: ['audit'],
  ...SECURED,
  summary: 'Your audit trail',
  description:
    'Events about your account and your files, newest first, a page at a time: pass `next_cursor` as `cursor` for the next ' +
    'page (null on the last). You see an event when you did it, when it names your account (a share with you, a revocation ' +
    'of you, a file handed to you, a login or failed login to your account), or when the file was yours at the time. ' +
    'Events older than AUDIT_RETENTION_DAYS are removed.',
  querystring: AuditQuery,
  response: {
    200: described(AuditReply, 'One page of events'),
    ...COMMON_ERRORS,
    ...UNAUTHENTICATED,
  },
};

export const auditRouteSchemas = { list };
