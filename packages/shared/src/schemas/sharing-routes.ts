import {
  FriendsParams,
  FriendsReply,
  ListQuery,
  ListReply,
  OwnerQuery,
  PermitBody,
  RevokeReply,
  ShareReply,
  TransferReply,
} from './sharing.js';
import { COMMON_ERRORS, CROSS_SITE, JSON_BODY_ERRORS, SECURED, UNAUTHENTICATED, conflict, described, errorResponse } from './responses.js';

/** The full schema of each sharing route: validation, serialization and OpenAPI in one. */

const tags = ['sharing'];
const ORDER =
  'The checks run in this order: can the caller read the file (else 404), is the caller the owner (else 403), ' +
  'does the recipient exist (else 404), then the rule of the action.';

const list = {
  tags,
  ...SECURED,
  summary: 'List the files you can read',
  description:
    'Every file the caller owns or is a friend of, by filename (bytes) then owner, a page at a time: ' +
    'pass `next_cursor` as `cursor` for the next page (null on the last).',
  querystring: ListQuery,
  response: {
    200: described(ListReply, 'One page of files'),
    ...COMMON_ERRORS,
    ...UNAUTHENTICATED,
  },
};

const share = {
  tags,
  ...SECURED,
  summary: 'Share a file with a friend',
  description: `The owner gives another user read access: 201, or 200 when they were a friend already. ${ORDER}`,
  body: PermitBody,
  response: {
    200: described(ShareReply, 'Already a friend'),
    201: described(ShareReply, 'Shared'),
    ...COMMON_ERRORS,
    ...UNAUTHENTICATED,
    403: errorResponse(403, ['NOT_OWNER', CROSS_SITE]),
    404: errorResponse(404, ['FILE_NOT_FOUND', 'USER_NOT_FOUND']),
    ...conflict('AMBIGUOUS_FILENAME'),
    ...JSON_BODY_ERRORS,
  },
};

const transfer = {
  tags,
  ...SECURED,
  summary: 'Hand a file over to another user',
  description: `The owner makes another user the owner; the previous owner and every other friend stay on as friends. A new owner whose files would then exceed QUOTA_BYTES: 507, nothing changed. ${ORDER}`,
  body: PermitBody,
  response: {
    200: described(TransferReply, 'Handed over'),
    ...COMMON_ERRORS,
    ...UNAUTHENTICATED,
    403: errorResponse(403, ['NOT_OWNER', CROSS_SITE]),
    404: errorResponse(404, ['FILE_NOT_FOUND', 'USER_NOT_FOUND']),
    ...conflict('NAME_TAKEN', 'AMBIGUOUS_FILENAME'),
    ...JSON_BODY_ERRORS,
    507: errorResponse(507, ['INSUFFICIENT_STORAGE']),
  },
};

const revoke = {
  tags,
  ...SECURED,
  summary: 'Remove a friend',
  description: `The owner removes a friend, or a friend removes themself. ${ORDER}`,
  body: PermitBody,
  response: {
    200: described(RevokeReply, 'Revoked'),
    ...COMMON_ERRORS,
    ...UNAUTHENTICATED,
    403: errorResponse(403, ['NOT_OWNER', CROSS_SITE]),
    404: errorResponse(404, ['FILE_NOT_FOUND', 'USER_NOT_FOUND', 'NOT_SHARED']),
    ...conflict('AMBIGUOUS_FILENAME'),
    ...JSON_BODY_ERRORS,
  },
};

const friends = {
  tags,
  ...SECURED,
  summary: "List a file's friends",
  description: "The owner's list of a file's friends, with the time each was added. The filename is percent-encoded in the path.",
  params: FriendsParams,
  querystring: OwnerQuery,
  response: {
    200: described(FriendsReply, 'The friends of the file'),
    ...COMMON_ERRORS,
    ...UNAUTHENTICATED,
    403: errorResponse(403, ['NOT_OWNER']),
    404: errorResponse(404, ['FILE_NOT_FOUND']),
    ...conflict('AMBIGUOUS_FILENAME'),
  },
};

export const sharingRouteSchemas = { list, share, transfer, revoke, friends };
