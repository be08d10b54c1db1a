import type { AuditEvent, AuditReply } from '@cloudstore/shared';
import type { Knex } from 'knex';
import { AuditRepository, type AuditEntry } from '../repositories/audit.js';
import type { SessionUser } from '../repositories/sessions.js';
import { SignedCursor } from './list-cursor.js';

const DAY_MS = 24 * 3600 * 1000;

/**
 * The audit trail as users read it (docs/API.md, "Audit trail"): the events that concern them,
 * newest first, a page at a time; and its retention. Events are recorded by the services that
 * act, in the action's own transaction (AuditRepository.record).
 */
export class AuditService {
  private readonly cursors: SignedCursor;

  constructor(
    private readonly db: Knex,
    secret: string,
    private readonly retentionDays: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.cursors = new SignedCursor(secret, 'cloudstore audit cursor');
  }

  async list(caller: SessionUser, limit: number, cursor?: string): Promise<AuditReply> {
    const before = cursor === undefined ? null : Number(this.cursors.decode(cursor)[0]);
    // One row more than asked says whether another page follows.
    const rows = await new AuditRepository(this.db).page(caller.userId, before, limit + 1);
    const page = rows.slice(0, limit);
    return {
      events: page.map(toEvent),
      next_cursor: rows.length > limit ? this.cursors.encode([page[page.length - 1].id]) : null,
    };
  }

  /** Removes the events older than AUDIT_RETENTION_DAYS (the housekeeping sweep). */
  sweep(): Promise<number> {
    return new AuditRepository(this.db).deleteOlderThan(this.clock() - this.retentionDays * DAY_MS);
  }
}

function toEvent(entry: AuditEntry): AuditEvent {
  return {
    time: new Date(entry.at).toISOString(),
    action: entry.action,
    actor: entry.actor,
    address: entry.address,
    filename: entry.filename,
    owner: entry.owner,
    target: entry.target,
  };
}
