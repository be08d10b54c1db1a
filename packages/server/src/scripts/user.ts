import { randomBytes } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/open.js';
import { openPreparedReads } from '../db/prepared-reads.js';
import { AuditRepository } from '../repositories/audit.js';
import { LoginFailureRepository } from '../repositories/login-failures.js';
import { RegistrationRepository } from '../repositories/registrations.js';
import { SessionRepository } from '../repositories/sessions.js';
import { UserRepository } from '../repositories/users.js';
import { AccountService } from '../services/accounts.js';
import { LoginLimits } from '../services/login-limits.js';
import { Passwords } from '../services/passwords.js';
import { RegistrationLimits } from '../services/registration-limits.js';

const USAGE = 'usage: pnpm user add NAME   (the password from standard input, or generated and printed)';

/**
 * `pnpm user add NAME`: the operator makes an account, whether registration is open or closed,
 * under the same rules as `POST /register` (through the same service).
 */
async function main(): Promise<number> {
  const { positionals } = parseArgs({ allowPositionals: true });
  if (positionals.length !== 2 || positionals[0] !== 'add') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const username = positionals[1];
  // A pipe or a file gives the password; a terminal, or nothing at all, asks for one to be made.
  const given = process.stdin.isTTY ? '' : (await text(process.stdin)).replace(/\r?\n$/, '');
  const password = given === '' ? randomBytes(18).toString('base64url') : given;

  const config = loadConfig();
  const db = await openDatabase(config);
  const passwords = await Passwords.create(1, config.passwordHashCost);
  const reads = openPreparedReads(db);
  try {
    const accounts = new AccountService(
      new UserRepository(db),
      new SessionRepository(db, reads),
      passwords,
      new LoginLimits(new LoginFailureRepository(db)),
      new RegistrationLimits(new RegistrationRepository(db), 0),
      { tokenTtlSeconds: config.tokenTtlSeconds, isRegistrationOpen: true },
      new AuditRepository(db),
    );
    const created = await accounts.create(username, password);
    process.stdout.write(`created user ${created.username}\n`);
    if (given === '') process.stdout.write(`password: ${password}\n(shown only this once)\n`);
    return 0;
  } finally {
    await passwords.close();
    await reads.close();
    await db.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`cloudstore: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
