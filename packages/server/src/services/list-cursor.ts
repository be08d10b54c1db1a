import { createHmac, timingSafeEqual } from 'node:crypto';
import { validationFailed } from '../errors.js';
import type { ListPosition } from '../repositories/sharing.js';

const MAC_BYTES = 16;

/**
 * A page's `next_cursor`: the position after which the next page starts, as base64url JSON,
 * followed by an HMAC of it under a key of the cursor's own purpose. The server reads back only
 * cursors it issued (and issued for that listing), so a cursor can never steer a query anywhere
 * a client chose.
 */
export class SignedCursor {
  private readonly key: Buffer;

  /**
   * `secret` is the token signing key (JWT_SECRET, or the key the instances keep in the
   * database): every instance derives the same key for each purpose from it, so a cursor issued
   * by one is read back by any other.
   */
  constructor(secret: string, purpose: string) {
    this.key = createHmac('sha256', secret).update(purpose).digest();
  }

  encode(values: unknown[]): string {
    const payload = Buffer.from(JSON.stringify(values)).toString('base64url');
    return `${payload}.${this.mac(payload).toString('base64url')}`;
  }

  /** The values a cursor stands for; 400 for anything this server did not issue. */
  decode(cursor: string): unknown[] {
    const [payload, mac, ...rest] = cursor.split('.');
    const given = Buffer.from(mac ?? '', 'base64url');
    const expected = this.mac(payload);
    if (rest.length > 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw validationFailed('the cursor is not one this server issued: start again without it');
    }
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown[];
  }

  private mac(payload: string): Buffer {
    return createHmac('sha256', this.key).update(payload).digest().subarray(0, MAC_BYTES);
  }
}

/** The listing's cursor: the (filename, owner key) of the last entry of the page. */
export class ListCursor {
  private readonly signed: SignedCursor;

  constructor(secret: string) {
    this.signed = new SignedCursor(secret, 'cloudstore list cursor');
  }

  encode(position: ListPosition): string {
    return this.signed.encode([position.filename, position.ownerKey]);
  }

  decode(cursor: string): ListPosition {
    const [filename, ownerKey] = this.signed.decode(cursor) as [string, string];
    return { filename, ownerKey };
  }
}
