import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import type { SecretRepository } from '../repositories/secrets.js';

/** The name of the token signing key in `server_secrets`. */
const KEY_NAME = 'token';
/** `server_secrets.value`'s width. */
const MAX_KEPT_BYTES = 255;

/**
 * The key that signs and checks tokens, and from which the listing cursors' key is derived
 * (services/list-cursor.ts): JWT_SECRET when set, else (MySQL/MariaDB) the one kept in the
 * database, made by the first instance that starts. A `$DATA_DIR/secret` that a single instance
 * kept before is adopted by that first start, so that the tokens it issued stay valid.
 */
export async function tokenSigningKey(config: Pick<Config, 'jwtSecret' | 'dataDir'>, secrets: SecretRepository): Promise<string> {
  if (config.jwtSecret !== null) return config.jwtSecret;
  const adopted = await keptFile(config.dataDir);
  return secrets.getOrCreate(KEY_NAME, () => adopted ?? randomBytes(48).toString('base64url'));
}

/** The key in `$DATA_DIR/secret`, or null when there is none. */
async function keptFile(dataDir: string): Promise<string | null> {
  let key: string;
  try {
    key = (await readFile(path.join(dataDir, 'secret'), 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  if (key === '') return null;
  if (Buffer.byteLength(key) > MAX_KEPT_BYTES) {
    throw new Error(`${path.join(dataDir, 'secret')} holds a key longer than ${MAX_KEPT_BYTES} bytes: set it as JWT_SECRET instead`);
  }
  return key;
}
