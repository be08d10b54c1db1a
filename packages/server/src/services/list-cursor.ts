import { createHmac, timingSafeEqual } from 'node:crypto';
import { validationFailed } from '../errors.js';
import type { ListPosition } from '../repositories/sharing.js';

const MAC_BYTES = 16;

/**
 * The listing's `next_cursor`: the position after which the next page starts, as base64url
 * JSON, followed by an HMAC of it. The server reads back only cursors it issued, so a cursor
 * can never steer a query anywhere a client chose.
 */
export class ListCursor {
  private readonly key: Buffer;

  /**
   * `secret` is the token signing key (JWT_SECRET, or the key the instances keep in the
   * database): every instance derives the same cursor key from it, so a cursor issued by one
   * is read back by any other.
   */
  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('cloudstore list cursor').digest();
  }

  encode(position: ListPosition): string {
    const payload = Buffer.from(JSON.stringify([position.filename, position.ownerKey])).toString('base64url');
    return `${payload}.${this.mac(payload).toString('base64url')}`;
  }

  /** The position a cursor stands for; 400 for anything this server did not issue. */
  decode(cursor: string): ListPosition {
    const [payload, mac, ...rest] = cursor.split('.');
    const given = Buffer.from(mac ?? '', 'base64url');
    const expected = this.mac(payload);
    if (rest.length > 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw validationFailed('the cursor is not one this server issued: start again without it');
    }
    const [filename, ownerKey] = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as [string, string];
    return { filename, ownerKey };
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.key).update(payload).digest().subarray(0, MAC_BYTES);
  }
}
