import { Type, type Static } from '@sinclair/typebox';
import { LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX } from '../limits.js';
import { FilenameField, UsernameField } from './common.js';

export const FileEntry = Type.Object({
  filename: Type.String(),
  owner: Type.String(),
  role: Type.Union([Type.Literal('owner'), Type.Literal('friend')]),
  size: Type.Integer(),
  sha256: Type.String(),
  content_type: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
  damaged: Type.Boolean({
    description: 'the stored bytes no longer match sha256 (found by the scrub or a verify): quarantined, not served',
  }),
});
export type FileEntry = Static<typeof FileEntry>;

/** A whole number from 1 to LIST_LIMIT_MAX (1000), leading zeros allowed; nothing else, not even empty. */
export const LIST_LIMIT_PATTERN = '^0*([1-9][0-9]{0,2}|1000)$';

export const ListQuery = Type.Object({
  limit: Type.Optional(
    Type.String({ pattern: LIST_LIMIT_PATTERN, description: `entries per page, 1 to ${LIST_LIMIT_MAX} (default ${LIST_LIMIT_DEFAULT})` }),
  ),
  cursor: Type.Optional(Type.String({ maxLength: 2048, description: 'next_cursor of the previous page' })),
});
export type ListQuery = Static<typeof ListQuery>;

export const ListReply = Type.Object({
  files: Type.Array(FileEntry),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});
export type ListReply = Static<typeof ListReply>;

export const PermitBody = Type.Object({
  filename: FilenameField,
  username: UsernameField,
  owner: Type.Optional(UsernameField),
});
export type PermitBody = Static<typeof PermitBody>;

export const ShareReply = Type.Object({
  filename: Type.String(),
  owner: Type.String(),
  username: Type.String(),
  role: Type.Literal('friend'),
});
export type ShareReply = Static<typeof ShareReply>;

export const TransferReply = Type.Object({
  filename: Type.String(),
  owner: Type.String(),
  previous_owner: Type.String(),
});
export type TransferReply = Static<typeof TransferReply>;

export const RevokeReply = Type.Object({
  filename: Type.String(),
  username: Type.String(),
  revoked: Type.Literal(true),
});
export type RevokeReply = Static<typeof RevokeReply>;

export const FriendsReply = Type.Object({
  filename: Type.String(),
  owner: Type.String(),
  friends: Type.Array(Type.Object({ username: Type.String(), since: Type.String() })),
});
export type FriendsReply = Static<typeof FriendsReply>;

/** `/cloud/drive-share/:filename/`: the filename travels percent-encoded in the path. */
export const FriendsParams = Type.Object({ filename: FilenameField });
export type FriendsParams = Static<typeof FriendsParams>;

/** `?owner=`, resolved like download's. */
export const OwnerQuery = Type.Object({ owner: Type.Optional(UsernameField) });
export type OwnerQuery = Static<typeof OwnerQuery>;
