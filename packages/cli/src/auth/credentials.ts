import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AsyncEntry } from '@napi-rs/keyring';

/** The service name under which tokens live in the system keychain, one account per origin. */
const KEYCHAIN_SERVICE = 'cloudstore';
const FILE_NAME = 'credentials.json';

interface SavedSession {
  username: string;
  /** Absent when the token is in the system keychain. */
  token?: string;
}

interface CredentialsFile {
  /** The server of the last login: the default when neither --server nor CLOUDSTORE_SERVER says. */
  server?: string;
  sessions: Record<string, SavedSession>;
}

export interface Session {
  username: string;
  token: string;
}

/** Where `save` put the token: the keychain, or the path of the 0600 file. */
export type SavedIn = { keychain: true } | { keychain: false; file: string };

/**
 * Sessions per server origin. The token goes to the system keychain through @napi-rs/keyring
 * (prebuilt per platform, nothing to compile) when there is one; without a keychain (a headless
 * machine, no Secret Service on D-Bus, or a platform with no prebuilt binary) the token goes to
 * `credentials.json`, mode 0600 in a 0700 directory. The file also keeps the username and the
 * last server, which are not secrets.
 */
export class CredentialStore {
  private readonly file: string;

  constructor(private readonly directory: string) {
    this.file = join(directory, FILE_NAME);
  }

  async lastServer(): Promise<string | undefined> {
    return (await this.read()).server;
  }

  async load(origin: string): Promise<Session | undefined> {
    const saved = (await this.read()).sessions[origin];
    if (!saved) return undefined;
    const token = saved.token ?? (await (await keychainEntry(origin))?.getPassword().catch(() => null));
    return token ? { username: saved.username, token } : undefined;
  }

  async save(origin: string, session: Session): Promise<SavedIn> {
    const contents = await this.read();
    const isInKeychain = await storeInKeychain(origin, session.token);
    contents.server = origin;
    contents.sessions[origin] = isInKeychain ? { username: session.username } : session;
    await this.write(contents);
    return isInKeychain ? { keychain: true } : { keychain: false, file: this.file };
  }

  /** Forgets the session of one origin, in the keychain and in the file. */
  async forget(origin: string): Promise<boolean> {
    const contents = await this.read();
    const saved = contents.sessions[origin];
    if (!saved) return false;
    if (saved.token === undefined) {
      await (await keychainEntry(origin))?.deletePassword().catch(() => false);
    }
    delete contents.sessions[origin];
    await this.write(contents);
    return true;
  }

  private async read(): Promise<CredentialsFile> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { sessions: {} };
      throw error;
    }
    const parsed = JSON.parse(text) as Partial<CredentialsFile>;
    return { server: parsed.server, sessions: parsed.sessions ?? {} };
  }

  /** Written whole to a temporary file and renamed, so that a crash never leaves half a file. */
  private async write(contents: CredentialsFile): Promise<void> {
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    await chmod(this.directory, 0o700);
    const temporary = `${this.file}.${process.pid}.tmp`;
    await writeFile(temporary, `${JSON.stringify(contents, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, this.file);
  }
}

async function storeInKeychain(origin: string, token: string): Promise<boolean> {
  const entry = await keychainEntry(origin);
  if (!entry) return false;
  try {
    await entry.setPassword(token);
    return true;
  } catch {
    // A keychain that answers but refuses (locked, or the user dismissed the unlock prompt).
    return false;
  }
}

type Keyring = typeof import('@napi-rs/keyring');

let keyring: Promise<Keyring | undefined> | undefined;

/**
 * The keychain entry of one origin, or undefined where there is no keychain. The binding is
 * imported only when a token is stored or looked up there; its import fails on a platform with
 * no prebuilt binary. On Linux the entry is pinned to the Secret Service: the binding's default
 * falls back to the kernel keyring, which forgets the session at reboot, where the 0600 file
 * keeps it. Without a Secret Service on D-Bus the constructor throws.
 */
async function keychainEntry(origin: string): Promise<AsyncEntry | undefined> {
  keyring ??= import('@napi-rs/keyring').catch(() => undefined);
  const binding = await keyring;
  if (!binding) return undefined;
  try {
    return new binding.AsyncEntry(KEYCHAIN_SERVICE, origin, { linux: { store: 'secret-service' } });
  } catch {
    return undefined;
  }
}
