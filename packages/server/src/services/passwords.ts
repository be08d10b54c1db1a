import argon2 from 'argon2';

/**
 * Argon2id password hashing. Argon2 takes the whole password (no 72-byte truncation).
 * `verifyOrWaste` checks unknown users against a dummy hash, so that an unknown user and a
 * wrong password cost the same time.
 */
export class Passwords {
  private constructor(private readonly dummyHash: string) {}

  static async create(): Promise<Passwords> {
    return new Passwords(await argon2.hash('dummy password that matches nothing'));
  }

  hash(password: string): Promise<string> {
    return argon2.hash(password, { type: argon2.argon2id });
  }

  async verifyOrWaste(hash: string | undefined, password: string): Promise<boolean> {
    const matches = await argon2.verify(hash ?? this.dummyHash, password);
    return hash !== undefined && matches;
  }
}
