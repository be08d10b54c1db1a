import { randomUUID } from 'node:crypto';
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_PATTERN } from '@cloudstore/shared';
import { AppError, validationFailed } from '../errors.js';
import type { AuditRepository } from '../repositories/audit.js';
import type { FileRecord } from '../repositories/files.js';
import type { SessionRepository, SessionUser } from '../repositories/sessions.js';
import type { UserRepository, UserRow } from '../repositories/users.js';
import type { LoginLimits } from './login-limits.js';
import type { Passwords } from './passwords.js';
import type { RegistrationLimits } from './registration-limits.js';

const usernamePattern = new RegExp(USERNAME_PATTERN);

export interface TokenSigner {
  sign(payload: { sub: string; jti: string; name: string }): string;
}

/** Registration, login, logout and the session behind a token. */
export class AccountService {
  constructor(
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly passwords: Passwords,
    private readonly limits: LoginLimits,
    private readonly registrations: RegistrationLimits,
    private readonly settings: { tokenTtlSeconds: number; isRegistrationOpen: boolean; quotaBytes?: number | null },
    private readonly audit: AuditRepository,
    private readonly clock: () => number = Date.now,
  ) {}

  /** `POST /register`: `create` for anyone, while registration is open and `address` under its limit. */
  async register(username: string, password: string, address: string): Promise<{ username: string }> {
    if (!this.settings.isRegistrationOpen) {
      throw new AppError('REGISTRATION_CLOSED', 'registration is closed on this server: ask its operator for an account');
    }
    checkCredentials(username, password);
    const reservation = await this.registrations.reserve(address);
    try {
      return await this.create(username, password);
    } catch (error) {
      await this.registrations.release(reservation);
      throw error;
    }
  }

  /** A new account, under the rules of every account (the operator's `pnpm user add` too). */
  async create(username: string, password: string): Promise<{ username: string }> {
    checkCredentials(username, password);
    if (await this.users.findByName(username)) throw new AppError('USERNAME_TAKEN', `the username '${username}' is taken`);
    await this.users.create(username, await this.passwords.hash(password), this.clock());
    return { username };
  }

  async login(
    username: string,
    password: string,
    address: string,
    signer: TokenSigner,
  ): Promise<{ token: string; username: string; expiresIn: number }> {
    const reservation = await this.limits.reserve(username, address);
    let user: UserRow | undefined;
    let account: UserRow | undefined;
    try {
      account = usernamePattern.test(username) ? await this.users.findByName(username) : undefined;
      user = account;
      if (!(await this.passwords.verifyOrWaste(user?.password_hash, password)) || !user) user = undefined;
      else if (this.passwords.isOutdated(user.password_hash)) {
        await this.users.setPasswordHash(user.id, await this.passwords.hash(password));
      }
    } catch (error) {
      await this.limits.release(reservation);
      throw error;
    }
    if (!user) {
      // A wrong password for an existing account is that account's event; an unknown name is
      // nobody's, yet written all the same, so that both failures cost the same time.
      await this.record('login_failed', null, account?.id ?? null, address);
      await this.limits.recordFailure();
      throw new AppError('INVALID_CREDENTIALS', 'wrong username or password');
    }
    await this.limits.release(reservation);
    const { tokenTtlSeconds } = this.settings;
    const tokenId = randomUUID();
    await this.sessions.create(tokenId, user.id, this.clock() + tokenTtlSeconds * 1000);
    await this.record('login', user.id, user.id, address);
    const token = signer.sign({ sub: String(user.id), jti: tokenId, name: user.username });
    return { token, username: user.username, expiresIn: tokenTtlSeconds };
  }

  async logout(session: SessionUser): Promise<void> {
    await this.sessions.revoke(session.tokenId);
  }

  /** The live session behind a verified token id, or null when it was revoked or has expired. */
  async session(tokenId: string): Promise<SessionUser | null> {
    return (await this.sessions.find(tokenId, this.clock())) ?? null;
  }

  /** `session`, and in the same query the user's own file named `filename` (null when none): a download's lookups. */
  async sessionWithOwnFile(tokenId: string, filename: string): Promise<{ session: SessionUser; ownFile: FileRecord | null } | null> {
    return (await this.sessions.findWithOwnFile(tokenId, this.clock(), filename)) ?? null;
  }

  /** `/me`: counts kept per user, and the user's share of the contents they own with others. */
  async accounting(
    userId: number,
  ): Promise<{ files: number; bytes: number; logical_bytes: number; stored_bytes: number; quota_bytes: number | null }> {
    const usage = await this.users.accounting(userId);
    return {
      files: usage.files,
      bytes: usage.bytes,
      logical_bytes: usage.bytes,
      stored_bytes: usage.storedBytes,
      quota_bytes: this.settings.quotaBytes ?? null,
    };
  }

  private record(action: 'login' | 'login_failed', actorId: number | null, targetId: number | null, address: string): Promise<void> {
    return this.audit.record({ action, at: this.clock(), actorId, targetId, ownerId: null, filename: null, address });
  }
}

function checkCredentials(username: string, password: string): void {
  if (!usernamePattern.test(username)) {
    throw validationFailed('username must be 3 to 32 characters of A-Z a-z 0-9 _ . -');
  }
  const length = [...password].length;
  if (length < PASSWORD_MIN || length > PASSWORD_MAX) {
    throw validationFailed(`password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`);
  }
}
