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
  files: Type.Integer(),
  bytes: Type.Integer(),
});
export type MeReply = Static<typeof MeReply>;

export const HealthReply = Type.Object({ status: Type.String() });
