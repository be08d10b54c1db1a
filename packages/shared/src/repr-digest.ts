/**
 * The `Repr-Digest` field of RFC 9530, for SHA-256 only: `sha-256=:<base64 of the digest>:`.
 * Server and CLI both read and write it; digests travel as hex everywhere else in the API.
 */

const SHA256_BYTES = 32;

/** The field value for a hex SHA-256. */
export function formatReprDigest(sha256Hex: string): string {
  return `sha-256=:${Buffer.from(sha256Hex, 'hex').toString('base64')}:`;
}

/**
 * The hex SHA-256 in a Repr-Digest field value (a dictionary that may name other algorithms,
 * which are ignored); `sha256` is undefined when the field is absent. A member that is not
 * `name=:base64:`, a sha-256 entry that is not 32 bytes, or no sha-256 entry at all is not ok.
 */
export function parseReprDigest(
  value: string | string[] | undefined,
): { ok: true; sha256: string | undefined } | { ok: false; reason: string } {
  if (value === undefined) return { ok: true, sha256: undefined };
  const members = (Array.isArray(value) ? value.join(',') : value).split(',');
  for (const member of members) {
    const match = /^\s*([a-z0-9-]+)\s*=\s*:([A-Za-z0-9+/]*={0,2}):\s*$/i.exec(member);
    if (!match) return { ok: false, reason: 'Repr-Digest must look like sha-256=:<base64 of the digest>:' };
    if (match[1].toLowerCase() !== 'sha-256') continue;
    const digest = Buffer.from(match[2], 'base64');
    if (digest.length !== SHA256_BYTES) return { ok: false, reason: 'Repr-Digest sha-256 must be the base64 of 32 bytes' };
    return { ok: true, sha256: digest.toString('hex') };
  }
  return { ok: false, reason: 'Repr-Digest has no sha-256 entry' };
}
