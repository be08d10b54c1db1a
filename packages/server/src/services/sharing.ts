import type { FileEntry, FriendsReply, ListReply, PermitBody, RevokeReply, ShareReply, TransferReply } from '@cloudstore/shared';
import type { Knex } from 'knex';
import { AppError, validationFailed } from '../errors.js';
import { AuditRepository, type AuditAction } from '../repositories/audit.js';
import type { SessionUser } from '../repositories/sessions.js';
import { SharingRepository, type ListedFile } from '../repositories/sharing.js';
import { inTransaction } from '../repositories/transaction.js';
import { UsageLedger } from '../repositories/usage.js';
import { UserRepository, usernameKey, type UserRow } from '../repositories/users.js';
import { overQuota, type FileService, type ResolvedFile } from './files.js';
import type { ListCursor } from './list-cursor.js';

/** Times a change starts again when the file changed hands between reading and locking it. */
const ATTEMPTS = 5;

const notOwner = (filename: string, action: string) => new AppError('NOT_OWNER', `only the owner of '${filename}' may ${action}`);

/**
 * Sharing (API.md, "Sharing"): the listing, friends, revocation and ownership transfer.
 * Every change checks, in this order: can the caller read the file (else FILE_NOT_FOUND), is
 * the caller the owner (else NOT_OWNER), does the other user exist (else USER_NOT_FOUND), then
 * the action's own rule; so a stranger learns nothing about other users from these routes.
 */
export class SharingService {
  constructor(
    private readonly db: Knex,
    private readonly files: FileService,
    private readonly cursors: ListCursor,
    private readonly clock: () => number = Date.now,
  ) {}

  /** One page of every file the caller owns or is a friend of. */
  async list(caller: SessionUser, limit: number, cursor?: string): Promise<ListReply> {
    const after = cursor === undefined ? null : this.cursors.decode(cursor);
    // One row more than asked says whether another page follows.
    const rows = await new SharingRepository(this.db).listPage(caller.userId, after, limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      files: page.map(toEntry),
      next_cursor: rows.length > limit ? this.cursors.encode(last) : null,
    };
  }

  /** The owner makes `username` a friend; `created` is false when they were one already. */
  async share(caller: SessionUser, body: PermitBody): Promise<{ reply: ShareReply; created: boolean }> {
    return this.changeAccess(caller, body, async ({ sharing, users, record }, file) => {
      if (!file.isOwner) throw notOwner(file.filename, 'share it');
      const friend = await existingUser(users, body.username);
      if (friend.id === caller.userId) throw validationFailed('you cannot share a file with yourself');
      const reply = { filename: file.filename, owner: file.ownerName, username: friend.username, role: 'friend' as const };
      if ((await sharing.role(file.id, friend.id)) !== undefined) return { reply, created: false };
      await sharing.addFriend({
        fileId: file.id,
        userId: friend.id,
        filename: file.filename,
        ownerKey: usernameKey(file.ownerName),
        since: this.clock(),
      });
      await record('share', friend.id);
      return { reply, created: true };
    });
  }

  /** The owner hands the file to `username`; the previous owner and every friend stay friends. */
  async transfer(caller: SessionUser, body: PermitBody): Promise<TransferReply> {
    return this.changeAccess(caller, body, async ({ sharing, users, record, trx }, file) => {
      if (!file.isOwner) throw notOwner(file.filename, 'hand it over');
      const newOwner = await existingUser(users, body.username);
      if (newOwner.id === caller.userId) throw validationFailed('you own this file already: name another user');
      const ledger = new UsageLedger();
      await sharing.transfer(ledger, {
        fileId: file.id,
        filename: file.filename,
        previousOwnerId: caller.userId,
        newOwnerId: newOwner.id,
        newOwnerName: newOwner.username,
        newOwnerKey: usernameKey(newOwner.username),
        now: this.clock(),
      });
      await record('transfer', newOwner.id);
      const quotaBytes = this.files.quotaBytes;
      await ledger.apply(
        trx,
        quotaBytes === null
          ? null
          : {
              bytes: quotaBytes,
              refuse: (_userId, after) => overQuota(quotaBytes, after, `handing '${file.filename}' to ${newOwner.username}`),
            },
      );
      return { filename: file.filename, owner: newOwner.username, previous_owner: file.ownerName };
    });
  }

  /** The owner removes a friend, or a friend removes themself. */
  async revoke(caller: SessionUser, body: PermitBody): Promise<RevokeReply> {
    return this.changeAccess(caller, body, async ({ sharing, users, record }, file) => {
      const isSelf = usernameKey(body.username) === usernameKey(caller.username);
      if (!file.isOwner && !isSelf) throw notOwner(file.filename, 'remove someone else from it');
      if (file.isOwner && isSelf) throw validationFailed('the owner cannot be removed: hand the file over or delete it');
      const friend = isSelf ? { id: caller.userId, username: caller.username } : await existingUser(users, body.username);
      if (!(await sharing.removeFriend(file.id, friend.id))) {
        throw new AppError('NOT_SHARED', `'${file.filename}' is not shared with ${friend.username}`);
      }
      await record('revoke', friend.id);
      return { filename: file.filename, username: friend.username, revoked: true as const };
    });
  }

  /** The owner's list of friends of one file. */
  async friends(caller: SessionUser, filename: string, owner?: string): Promise<FriendsReply> {
    const file = await this.files.resolve(caller, filename, owner);
    if (!file.isOwner) throw notOwner(file.filename, 'see who it is shared with');
    const friends = await new SharingRepository(this.db).friends(file.id);
    return {
      filename: file.filename,
      owner: file.ownerName,
      friends: friends.map((friend) => ({ username: friend.username, since: iso(friend.since) })),
    };
  }

  /**
   * Runs `change` in a transaction on the file the body names, with the file's row locked. The
   * file is resolved from the transaction's snapshot; if it changed owner or vanished before the
   * lock was taken, the snapshot is stale and the whole change starts again on fresh data.
   */
  private async changeAccess<T>(
    caller: SessionUser,
    body: PermitBody,
    change: (repositories: ChangeTools, file: ResolvedFile) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await inTransaction(this.db, async (trx) => {
        const file = await this.files.resolve(caller, body.filename, body.owner, { within: trx });
        const sharing = new SharingRepository(trx);
        if ((await sharing.lockOwner(file.id)) !== file.ownerId) return { isStale: true as const };
        // The event of the change, in its transaction: the file and its owner as they were.
        const record = (action: AuditAction, targetId: number) =>
          new AuditRepository(trx).record({
            action,
            at: this.clock(),
            actorId: caller.userId,
            targetId,
            ownerId: file.ownerId,
            filename: file.filename,
            address: caller.address ?? null,
          });
        return { isStale: false as const, value: await change({ sharing, users: new UserRepository(trx), record, trx }, file) };
      });
      if (!outcome.isStale) return outcome.value;
      if (attempt >= ATTEMPTS) {
        throw new AppError('SERVICE_UNAVAILABLE', `'${body.filename}' keeps changing hands: try again shortly`);
      }
    }
  }
}

interface ChangeTools {
  sharing: SharingRepository;
  users: UserRepository;
  /** Records the change in the audit trail, naming the user it concerns. */
  record: (action: AuditAction, targetId: number) => Promise<void>;
  trx: Knex.Transaction;
}

async function existingUser(users: UserRepository, username: string): Promise<UserRow> {
  const user = await users.findByName(username);
  if (!user) throw new AppError('USER_NOT_FOUND', `there is no user named '${username}'`);
  return user;
}

const iso = (milliseconds: number) => new Date(milliseconds).toISOString();

function toEntry(file: ListedFile): FileEntry {
  return {
    filename: file.filename,
    owner: file.ownerName,
    role: file.role,
    size: file.size,
    sha256: file.sha256,
    content_type: file.contentType,
    created_at: iso(file.createdAt),
    updated_at: iso(file.updatedAt),
    damaged: file.isDamaged,
  };
}
