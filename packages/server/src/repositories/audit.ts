import type { Knex } from 'knex';

export type AuditAction = 'share' | 'revoke' | 'transfer' | 'delete' | 'login' | 'login_failed';

/** An event as recorded: user ids; null where the event has no such party. */
export interface AuditRecord {
  action: AuditAction;
  at: number;
  /** Who acted; null for a failed login (whoever tried is not known). */
  actorId: number | null;
  /**
   * The account the event is about: the friend shared with or revoked, the new owner, the account
   * logged into; null for a failed login under a username that does not exist (nobody's event).
   */
  targetId: number | null;
  /** The owner of the file at the time of the event. */
  ownerId: number | null;
  filename: string | null;
  address: string | null;
}

/** An event as shown: usernames instead of ids. */
export interface AuditEntry {
  id: number;
  action: AuditAction;
  at: number;
  actor: string | null;
  target: string | null;
  owner: string | null;
  filename: string | null;
  address: string | null;
}

/** Column widths: a longer address (an IPv6 zone) or name is cut rather than refused. */
const ADDRESS_MAX = 64;

/**
 * The audit trail (`audit_events`), append-only: nothing here updates an event, and only
 * `deleteOlderThan` (the retention sweep) deletes. Each event gets one `audit_viewers` row per
 * user it concerns (actor, target, owner), which is what a user's page reads.
 */
export class AuditRepository {
  constructor(private readonly db: Knex) {}

  /** One event and its viewers, in the caller's transaction, else in one of its own. */
  async record(event: AuditRecord): Promise<void> {
    if (!this.db.isTransaction) {
      await this.db.transaction((trx) => new AuditRepository(trx).record(event));
      return;
    }
    const [id] = await this.db('audit_events').insert({
      at: event.at,
      action: event.action,
      actor_id: event.actorId,
      target_id: event.targetId,
      owner_id: event.ownerId,
      filename: event.filename,
      address: event.address?.slice(0, ADDRESS_MAX) ?? null,
    });
    const viewers = [...new Set([event.actorId, event.targetId, event.ownerId])].filter((userId) => userId !== null);
    if (viewers.length > 0) await this.db('audit_viewers').insert(viewers.map((userId) => ({ user_id: userId, event_id: id })));
  }

  /**
   * Up to `count` events that `userId` may see, newest first, older than event `before`: one range
   * of the index audit_viewers(user_id, event_id), then only those events' rows.
   */
  async page(userId: number, before: number | null, count: number): Promise<AuditEntry[]> {
    const ids = this.db('audit_viewers').select('event_id').where('user_id', userId).orderBy('event_id', 'desc').limit(count);
    if (before !== null) ids.andWhere('event_id', '<', before);
    const rows: Record<string, unknown>[] = await this.db
      .from(ids.as('page'))
      .join('audit_events as events', 'events.id', 'page.event_id')
      .leftJoin('users as actors', 'actors.id', 'events.actor_id')
      .leftJoin('users as targets', 'targets.id', 'events.target_id')
      .leftJoin('users as owners', 'owners.id', 'events.owner_id')
      .select(
        'events.id as id',
        'events.action as action',
        'events.at as at',
        'actors.username as actor',
        'targets.username as target',
        'owners.username as owner',
        'events.filename as filename',
        'events.address as address',
      )
      .orderBy('events.id', 'desc');
    const text = (value: unknown) => (value === null || value === undefined ? null : String(value));
    return rows.map((row) => ({
      id: Number(row.id),
      action: row.action as AuditAction,
      at: Number(row.at),
      actor: text(row.actor),
      target: text(row.target),
      owner: text(row.owner),
      filename: text(row.filename),
      address: text(row.address),
    }));
  }

  /** Retention: removes the events recorded before `cutoff`; returns how many. */
  async deleteOlderThan(cutoff: number): Promise<number> {
    const expired = this.db('audit_events').select('id').where('at', '<', cutoff);
    await this.db('audit_viewers').whereIn('event_id', expired).delete();
    return this.db('audit_events').where('at', '<', cutoff).delete();
  }
}
