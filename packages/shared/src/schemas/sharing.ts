import { Type, type Static } from '@sinclair/typebox';
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
});
export type FileEntry = Static<typeof FileEntry>;

export const ListQuery = Type.Object({
  limit: Type.Optional(Type.String()),
  cursor: Type.Optional(Type.String()),
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
