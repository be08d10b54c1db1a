import { validationFailed } from '../errors.js';

const WHOLE_NUMBER = /^[0-9]{1,16}$/;
const METADATA_KEY = /^[\x21-\x2b\x2d-\x7e]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** `Upload-Length` or `Upload-Offset`: a whole number of bytes, else 400. */
export function byteCountHeader(name: string, value: string | string[] | undefined): number {
  if (value === undefined) throw validationFailed(`the ${name} header is required`);
  const text = String(value).trim();
  const count = Number(text);
  if (!WHOLE_NUMBER.test(text) || !Number.isSafeInteger(count)) throw validationFailed(`${name} must be a whole number of bytes`);
  return count;
}

/**
 * tus's `Upload-Metadata`: comma-separated `key base64value` pairs (the value may be absent),
 * decoded as UTF-8. Malformed, a key twice, or a value that is not UTF-8: 400.
 */
export function uploadMetadata(value: string | string[] | undefined): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (value === undefined || String(value).trim() === '') return metadata;
  for (const pair of String(value).split(',')) {
    const [key, encoded = '', ...rest] = pair.trim().split(' ');
    if (!METADATA_KEY.test(key) || rest.length > 0 || !BASE64.test(encoded)) {
      throw validationFailed('Upload-Metadata must be comma-separated "key base64value" pairs');
    }
    if (Object.hasOwn(metadata, key)) throw validationFailed(`Upload-Metadata names '${key}' twice`);
    const bytes = Buffer.from(encoded, 'base64');
    const text = bytes.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(bytes)) throw validationFailed(`Upload-Metadata's '${key}' is not UTF-8`);
    metadata[key] = text;
  }
  return metadata;
}
