import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The service name under which tokens live in the system keychain, one account per origin. */
const KEYCHAIN_SERVICE = 'cloudstore';
const FILE_NAME = 'credentials.json';

/** The part of keytar the CLI uses. */
interface Keychain {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
}

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
 * Sessions per server origin. The token goes to the system keychain through keytar when there
 * is one; keytar is optional (a native module that needs a desktop keychain), so without it the
 * token goes to `credentials.json`, mode 0600 in a 0700 directory. The file also keeps the
 * username and the last server, which are not secrets.
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
    const token = saved.token ?? (await (await loadKeychain())?.getPassword(KEYCHAIN_SERVICE, origin).catch(() => null));
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
      await (await loadKeychain())?.deletePassword(KEYCHAIN_SERVICE, origin).catch(() => false);
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
  const keychain = await loadKeychain();
  if (!keychain) return false;
  try {
    await keychain.setPassword(KEYCHAIN_SERVICE, origin, token);
    return true;
  } catch {
    // keytar loads but has no keychain to talk to (a headless machine without a D-Bus secret service).
    return false;
  }
}

let keychain: Promise<Keychain | undefined> | undefined;

/**
 * keytar, imported only when a token is stored or looked up there. The specifier is a variable
 * so that the build does not require the optional package to be installed.
 */
function loadKeychain(): Promise<Keychain | undefined> {
  const specifier = 'keytar';
  keychain ??= import(specifier).then(
    (module: { default?: Keychain } & Partial<Keychain>) => module.default ?? (module as Keychain),
    () => undefined,
  );
  return keychain;
}
