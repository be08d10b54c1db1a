import { randomBytes } from 'node:crypto';

export type Part =
  { name: string; value: string } | { name: string; filename?: string; contentType?: string; content: Buffer; headers?: string[] };

/**
 * A multipart/form-data body built by hand, so that a test controls everything a hostile
 * client could: the order of the parts, their number, their headers.
 */
export function multipartBody(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = `----cloudstore-test-${randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const headers = [`--${boundary}`];
    if ('value' in part) {
      headers.push(`Content-Disposition: form-data; name="${part.name}"`);
      chunks.push(Buffer.from(headers.join('\r\n') + '\r\n\r\n' + part.value + '\r\n'));
      continue;
    }
    const filename = part.filename === undefined ? '' : `; filename="${part.filename}"`;
    headers.push(`Content-Disposition: form-data; name="${part.name}"${filename}`);
    headers.push(`Content-Type: ${part.contentType ?? 'application/octet-stream'}`, ...(part.headers ?? []));
    chunks.push(Buffer.from(headers.join('\r\n') + '\r\n\r\n'), part.content, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}
