import { Type, type Static } from '@sinclair/typebox';
import { MEDIA_TYPE_MAX_BYTES, MEDIA_TYPE_PATTERN, SHA256_HEX_PATTERN } from '../limits.js';

/** A filename as sent; its full check (NFC, bytes, characters) happens in normalizeFilename. */
export const FilenameField = Type.String({ minLength: 1, maxLength: 1024 });
export const UsernameField = Type.String({ minLength: 1, maxLength: 256 });
export const Sha256Field = Type.String({ pattern: SHA256_HEX_PATTERN });
export const MediaTypeField = Type.String({ pattern: MEDIA_TYPE_PATTERN, maxLength: MEDIA_TYPE_MAX_BYTES });
export const Timestamp = Type.String({ format: 'date-time' });

/** `?filename=&owner=`, used by download, delete and the friends list. */
export const FileQuery = Type.Object({
  filename: Type.Optional(FilenameField),
  owner: Type.Optional(UsernameField),
});
export type FileQuery = Static<typeof FileQuery>;
