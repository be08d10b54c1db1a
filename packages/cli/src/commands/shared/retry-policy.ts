import type { RetryPolicy } from '../../api/retries.js';
import type { Context } from '../../context.js';
import { formatDuration } from '../../terminal/units.js';

/** CLI.md, "Resumable": up to 5 tries, waiting 1, 2, 4 and 8 s, each wait announced on standard error. */
export function retryPolicy(context: Context): RetryPolicy {
  return {
    delaysMs: context.retryDelaysMs,
    sleep: context.sleep,
    onRetry: (reason, delayMs, nextTry, tries) =>
      context.output.notice(`${reason}; trying again in ${describeWait(delayMs)} (try ${nextTry} of ${tries})`),
  };
}

/** Whole seconds as the progress bar shows them; a wait shortened below a second (tests) in ms. */
const describeWait = (delayMs: number) => (delayMs < 1000 ? `${delayMs}ms` : formatDuration(delayMs / 1000));
