import { Type, type Static } from '@sinclair/typebox';
import { CLAIM_SIZE_MAX } from '../limits.js';
import { FilenameField, MediaTypeField, Sha256Field, UsernameField } from './common.js';

export const UploadReply = Type.Object({
  filename: Type.String(),
  sha256: Type.String(),
  size: Type.Integer(),
  deduplicated: Type.Boolean(),
  replaced: Type.Boolean(),
});
export type UploadReply = Static<typeof UploadReply>;

export const RawUploadQuery = Type.Object({
  filename: Type.Optional(FilenameField),
  content_type: Type.Optional(MediaTypeField),
});
export type RawUploadQuery = Static<typeof RawUploadQuery>;

export const ClaimBody = Type.Object({
  filename: FilenameField,
  sha256: Sha256Field,
  size: Type.Integer({ minimum: 0, maximum: CLAIM_SIZE_MAX }),
  content_type: Type.Optional(MediaTypeField),
  proof: Type.Optional(
    Type.Object({
      nonce: Type.String({ minLength: 1, maxLength: 512 }),
      digest: Sha256Field,
    }),
  ),
});
export type ClaimBody = Static<typeof ClaimBody>;

export const Challenge = Type.Object({
  nonce: Type.String(),
  // [offset, length] pairs, written as an array of two (OpenAPI 3.0 has no tuples).
  ranges: Type.Array(Type.Unsafe<[number, number]>(Type.Array(Type.Integer({ minimum: 0 }), { minItems: 2, maxItems: 2 }))),
});
export type Challenge = Static<typeof Challenge>;

export const DeleteBody = Type.Object({
  filename: Type.Optional(FilenameField),
  owner: Type.Optional(UsernameField),
});
export type DeleteBody = Static<typeof DeleteBody>;

export const DeleteReply = Type.Object({ filename: Type.String(), deleted: Type.Literal(true) });
export type DeleteReply = Static<typeof DeleteReply>;

export const VerifyBody = Type.Object({
  filename: FilenameField,
  owner: Type.Optional(UsernameField),
});
export type VerifyBody = Static<typeof VerifyBody>;

export const VerifyReply = Type.Object({
  filename: Type.String(),
  owner: Type.String(),
  sha256: Type.String({ description: 'the digest recorded at upload' }),
  size: Type.Integer(),
  status: Type.Union([Type.Literal('ok'), Type.Literal('damaged')], {
    description: 'ok: the stored bytes hash to sha256 now; damaged: they do not (or are gone), and the content is quarantined',
  }),
});
export type VerifyReply = Static<typeof VerifyReply>;
