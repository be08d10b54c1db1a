import { Type, type Static } from '@sinclair/typebox';

export const Credentials = Type.Object({
  username: Type.String(),
  password: Type.String(),
});
export type Credentials = Static<typeof Credentials>;

export const RegisterReply = Type.Object({ username: Type.String() });
export type RegisterReply = Static<typeof RegisterReply>;

export const LoginReply = Type.Object({
  token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  username: Type.String(),
});
export type LoginReply = Static<typeof LoginReply>;

export const MeReply = Type.Object({
  username: Type.String(),
  files: Type.Integer({ description: 'files the caller owns' }),
  bytes: Type.Integer({ description: 'the sum of their sizes (the same as logical_bytes)' }),
  logical_bytes: Type.Integer({ description: "the sum of the sizes of the caller's files: what the quota counts" }),
  stored_bytes: Type.Integer({
    description:
      "the caller's share of physical storage: each content they own whole when they alone own it, else divided equally " +
      'among the distinct users owning a file with it (the remainder of the division to the one of them who registered first)',
  }),
  quota_bytes: Type.Union([Type.Integer(), Type.Null()], { description: 'QUOTA_BYTES: the most logical_bytes allowed; null: no limit' }),
});
export type MeReply = Static<typeof MeReply>;

export const HealthReply = Type.Object({ status: Type.String() });
