import { validationFailed } from '../errors.js';

/** `Repr-Digest: sha-256=:<base64>:` (RFC 9530) for a hex SHA-256. */
export function formatReprDigest(sha256Hex: string): string {
  return `sha-256=:${Buffer.from(sha256Hex, 'hex').toString('base64')}:`;
}

/**
 * The hex SHA-256 of a `Repr-Digest` request header, undefined when the header is absent;
 * 400 when it does not carry a well-formed sha-256 entry. Other algorithms in the list are ignored.
 */
export function parseReprDigest(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header.join(',') : header;
  for (const member of value.split(',')) {
    const match = /^\s*([a-z0-9-]+)\s*=\s*:([A-Za-z0-9+/]*={0,2}):\s*$/i.exec(member);
    if (!match) throw validationFailed("Repr-Digest must look like sha-256=:<base64 of the digest>:");
    if (match[1].toLowerCase() !== 'sha-256') continue;
    const digest = Buffer.from(match[2], 'base64');
    if (digest.length !== 32) throw validationFailed('Repr-Digest sha-256 must be the base64 of 32 bytes');
    return digest.toString('hex');
  }
  throw validationFailed('Repr-Digest has no sha-256 entry');
}
