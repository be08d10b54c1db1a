/** The `Repr-Digest` header of RFC 9530, for SHA-256 only: `sha-256=:<base64 of the digest>:`. */

const SHA256_BYTES = 32;

export function formatReprDigest(sha256: Buffer): string {
  return `sha-256=:${sha256.toString('base64')}:`;
}

/** The SHA-256 in a Repr-Digest field value (a dictionary that may name other algorithms too). */
export function parseReprDigest(value: string | string[] | undefined): Buffer | undefined {
  const fields = Array.isArray(value) ? value.join(',') : (value ?? '');
  for (const member of fields.split(',')) {
    const match = /^sha-256=:([A-Za-z0-9+/]+={0,2}):$/i.exec(member.trim());
    const digest = match ? Buffer.from(match[1], 'base64') : undefined;
    if (digest?.length === SHA256_BYTES) return digest;
  }
  return undefined;
}
