import { ROUTES } from '@cloudstore/shared';
import type { Client, Reply } from './client.js';
import { Drive } from './drive.js';

export interface Entry {
  filename: string;
  owner: string;
  role: 'owner' | 'friend';
  size: number;
  sha256: string;
  content_type: string;
  created_at: string;
  updated_at: string;
}

const ownerQuery = (owner?: string) => (owner === undefined ? '' : `?owner=${encodeURIComponent(owner)}`);

/** One user's view of the sharing routes, every request as that user would send it. */
export class Permits {
  constructor(
    readonly client: Client,
    readonly token?: string,
  ) {}

  list(query = ''): Promise<Reply> {
    return this.client.call('GET', ROUTES.drivePermit + query, { token: this.token });
  }

  /** Every entry of the listing, page after page; `between` runs after each page. */
  async listAll(limit = 1000, between?: (page: number) => Promise<void>): Promise<Entry[]> {
    const entries: Entry[] = [];
    let cursor: string | null = null;
    for (let page = 1; ; page++) {
      const cursorQuery: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const reply = await this.list(`?limit=${limit}${cursorQuery}`);
      if (reply.status !== 200) throw new Error(`listing page ${page}: ${reply.status} ${JSON.stringify(reply.body)}`);
      entries.push(...(reply.body.files as Entry[]));
      cursor = reply.body.next_cursor;
      if (cursor === null) return entries;
      await between?.(page);
    }
  }

  share(filename: string, username: string, owner?: string): Promise<Reply> {
    return this.permit('POST', filename, username, owner);
  }

  transfer(filename: string, username: string, owner?: string): Promise<Reply> {
    return this.permit('PUT', filename, username, owner);
  }

  revoke(filename: string, username: string, owner?: string): Promise<Reply> {
    return this.permit('DELETE', filename, username, owner);
  }

  friends(filename: string, owner?: string): Promise<Reply> {
    return this.client.call('GET', `${ROUTES.driveShare}${encodeURIComponent(filename)}/${ownerQuery(owner)}`, { token: this.token });
  }

  private permit(method: string, filename: string, username: string, owner?: string): Promise<Reply> {
    const json = owner === undefined ? { filename, username } : { filename, username, owner };
    return this.client.call(method, ROUTES.drivePermit, { token: this.token, json });
  }
}

/** A registered, logged-in user with both views. */
export interface Member {
  name: string;
  drive: Drive;
  permits: Permits;
}

export async function signUp(client: Client, name: string): Promise<Member> {
  const drive = await Drive.register(client, name);
  return { name, drive, permits: new Permits(client, drive.token) };
}

/** The listing's order (API.md): filename by its UTF-8 bytes, then the lower-cased owner. */
export function listingOrder(a: Pick<Entry, 'filename' | 'owner'>, b: Pick<Entry, 'filename' | 'owner'>): number {
  return (
    Buffer.compare(Buffer.from(a.filename), Buffer.from(b.filename)) ||
    Buffer.compare(Buffer.from(a.owner.toLowerCase()), Buffer.from(b.owner.toLowerCase()))
  );
}

/** The entries' (filename, owner) pairs, as comparable strings. */
export const entryKeys = (entries: Pick<Entry, 'filename' | 'owner'>[]) => entries.map((entry) => `${entry.owner}/${entry.filename}`);
