import { listPages } from '../api/listing.js';
import { authenticatedClient } from '../auth/session.js';
import type { Context, GlobalOptions } from '../context.js';
import { escapeControls } from '../terminal/escape.js';

export type CompleteNamesOptions = GlobalOptions;

/** Long enough for a listing on a slow link, short enough that a tab press never seems to hang. */
const TIMEOUT_MS = 3000;

/**
 * The hidden command completion scripts call: the user's remote filenames, one a line, each
 * once. Logged out, unreachable or slow, it prints nothing and exits 0, since whatever it
 * printed would land in the middle of the user's command line.
 */
export async function run(options: CompleteNamesOptions, context: Context): Promise<void> {
  const names = new Set<string>();
  try {
    const client = await authenticatedClient(options, context);
    for await (const page of listPages(client, AbortSignal.timeout(TIMEOUT_MS))) {
      // A name with control characters would reach the terminal raw in the shell's list of candidates.
      for (const entry of page) if (escapeControls(entry.filename) === entry.filename) names.add(entry.filename);
    }
  } catch {
    return;
  }
  for (const name of names) context.stdout.write(`${name}\n`);
}
