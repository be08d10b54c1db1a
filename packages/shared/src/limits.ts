/** The rules for names and sizes that server and CLI both enforce (API.md, "Names"). */

export const USERNAME_PATTERN = '^[A-Za-z0-9_.-]{3,32}$';
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 1024;
export const FILENAME_MAX_BYTES = 255;
export const MEDIA_TYPE_PATTERN = '^[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+$';
/** A `content_type` anywhere (raw query, multipart part, claim): the pattern's characters are ASCII, so bytes = characters. */
export const MEDIA_TYPE_MAX_BYTES = 255;
/** A claim's `size`: a whole number JSON carries exactly (`1e300` is an integer to JSON Schema, not a size). */
export const CLAIM_SIZE_MAX = Number.MAX_SAFE_INTEGER;
export const SHA256_HEX_PATTERN = '^[0-9a-fA-F]{64}$';

export const LIST_LIMIT_DEFAULT = 100;
export const LIST_LIMIT_MAX = 1000;

/** Proof of possession: content up to this size is challenged whole. */
export const WHOLE_CHALLENGE_MAX = 1024 * 1024;
export const CHALLENGE_RANGES = 16;
export const CHALLENGE_RANGE_BYTES = 4096;
export const CHALLENGE_TTL_SECONDS = 120;

/** Reads and writes of file content go in 1 MiB chunks (Node's 64 KiB default costs 2-3x). */
export const IO_CHUNK_BYTES = 1024 * 1024;

const mediaType = new RegExp(MEDIA_TYPE_PATTERN);

/** A `type/subtype` media type of at most MEDIA_TYPE_MAX_BYTES. */
export function isMediaType(value: string): boolean {
  return value.length <= MEDIA_TYPE_MAX_BYTES && mediaType.test(value);
}

// Unicode Cc: U+0000-U+001F and U+007F-U+009F.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * NFC-normalises a filename and checks it. Returns the normalised name, or the reason it is
 * not a valid filename.
 */
export function normalizeFilename(raw: string): { ok: true; name: string } | { ok: false; reason: string } {
  const name = raw.normalize('NFC');
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) return { ok: false, reason: 'filename must not be empty' };
  if (bytes > FILENAME_MAX_BYTES) {
    return { ok: false, reason: `filename is ${bytes} bytes of UTF-8, at most ${FILENAME_MAX_BYTES} allowed` };
  }
  if (name.includes('/') || name.includes('\\')) return { ok: false, reason: 'filename must not contain / or \\' };
  if (CONTROL_CHARACTER.test(name)) return { ok: false, reason: 'filename must not contain control characters' };
  if (name === '.' || name === '..') return { ok: false, reason: "filename must not be '.' or '..'" };
  if (/\p{Cs}/u.test(name)) {
    return { ok: false, reason: 'filename must be valid UTF-8' };
  }
  return { ok: true, name };
}
