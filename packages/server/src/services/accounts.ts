import { randomUUID } from 'node:crypto';
import { PASSWORD_MAX, PASSWORD_MIN, USERNAME_PATTERN } from '@cloudstore/shared';
import { AppError, validationFailed } from '../errors.js';
import type { SessionRepository, SessionUser } from '../repositories/sessions.js';
import type { UserRepository } from '../repositories/users.js';
import type { LoginLimits } from './login-limits.js';
import type { Passwords } from './passwords.js';

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
    private readonly tokenTtlSeconds: number,
    private readonly clock: () => number = Date.now,
  ) {}

  async register(username: string, password: string): Promise<{ username: string }> {
    if (!usernamePattern.test(username)) {
      throw validationFailed('username must be 3 to 32 characters of A-Z a-z 0-9 _ . -');
    }
    const length = [...password].length;
    if (length < PASSWORD_MIN || length > PASSWORD_MAX) {
      throw validationFailed(`password must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`);
    }
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
    await this.limits.check(username, address);
    const user = usernamePattern.test(username) ? await this.users.findByName(username) : undefined;
    if (!(await this.passwords.verifyOrWaste(user?.password_hash, password)) || !user) {
      await this.limits.recordFailure(username, address);
      throw new AppError('INVALID_CREDENTIALS', 'wrong username or password');
    }
    const tokenId = randomUUID();
    const now = this.clock();
    await this.sessions.create(tokenId, user.id, now + this.tokenTtlSeconds * 1000);
    const token = signer.sign({ sub: String(user.id), jti: tokenId, name: user.username });
    return { token, username: user.username, expiresIn: this.tokenTtlSeconds };
  }

  async logout(session: SessionUser): Promise<void> {
    await this.sessions.revoke(session.tokenId);
  }

  /** The live session behind a verified token id, or null when it was revoked or has expired. */
  async session(tokenId: string): Promise<SessionUser | null> {
    return (await this.sessions.find(tokenId, this.clock())) ?? null;
  }

  usage(userId: number) {
    return this.users.usage(userId);
  }
}
