import { parseReprDigest } from '@cloudstore/shared';
import { validationFailed } from '../errors.js';

/**
 * The hex SHA-256 of a `Repr-Digest` request header (RFC 9530), undefined when the header is
 * absent; 400 when it does not carry a well-formed sha-256 entry.
 */
export function declaredSha256(header: string | string[] | undefined): string | undefined {
  const parsed = parseReprDigest(header);
  if (!parsed.ok) throw validationFailed(parsed.reason);
  return parsed.sha256;
}
