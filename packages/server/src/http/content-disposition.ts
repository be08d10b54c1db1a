/**
 * `Content-Disposition: attachment` with both a safe ASCII `filename="…"` and RFC 6266's
 * `filename*=UTF-8''…`, always both (API.md). In the ASCII form every code point outside
 * printable ASCII, and `"` and `\`, becomes one `_`; nothing in a name can break the header.
 */
export function contentDisposition(filename: string): string {
  let ascii = '';
  for (const character of filename) {
    const code = character.codePointAt(0)!;
    ascii += code < 0x20 || code > 0x7e || character === '"' || character === '\\' ? '_' : character;
  }
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeRfc5987(filename)}`;
}

// RFC 5987 attr-char: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
const ATTR_CHAR = /[A-Za-z0-9!#$&+\-.^_`|~]/;

function encodeRfc5987(value: string): string {
  let encoded = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const character = String.fromCharCode(byte);
    encoded += byte < 0x80 && ATTR_CHAR.test(character) ? character : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}
