import { normalizeFilename } from '@cloudstore/shared/limits';
import { CliError, EXIT } from '../../errors.js';

/** A filename as the server will see it (NFC), or a usage error that says what is wrong with it. */
export function checkedFilename(raw: string): string {
  const checked = normalizeFilename(raw);
  if (!checked.ok) throw new CliError('VALIDATION_FAILED', `'${raw}' cannot be a filename: ${checked.reason}`, EXIT.usage);
  return checked.name;
}
