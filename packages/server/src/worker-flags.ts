import { Worker } from 'node:worker_threads';

/** Flags that load code into a thread before its own module: preloads and module hooks. */
const LOADING_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/**
 * The process's Node flags for a worker thread that only computes (digests, password hashes),
 * less those that load code first (an agent's `--import`, a test runner's hooks): the thread
 * needs none of it, and each would slow its start (by a second and more under tap). The others
 * (`--cpu-prof`, source maps) stay; V8's are left to `startComputingWorker`.
 */
export function computeWorkerFlags(execArgv: readonly string[] = process.execArgv): string[] {
  const kept: string[] = [];
  for (let index = 0; index < execArgv.length; index++) {
    const flag = execArgv[index];
    const [name] = flag.split('=');
    if (!LOADING_FLAGS.has(name)) kept.push(flag);
    // `--import x`: the value is the next argument.
    else if (!flag.includes('=')) index++;
  }
  return kept;
}

/**
 * A worker thread running `script` with the process's flags but those that load code first
 * (computeWorkerFlags). Node refuses V8's own flags in a worker's list (`--max-old-space-size`,
 * `--trace-gc`: ERR_WORKER_INVALID_EXEC_ARGV, naming them); those apply to every thread of the
 * process already, so the thread is started again without the ones named.
 */
export function startComputingWorker(script: URL, execArgv: readonly string[] = process.execArgv): Worker {
  const flags = computeWorkerFlags(execArgv);
  try {
    return new Worker(script, { execArgv: flags });
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    const refused = new Set(message.slice(message.lastIndexOf(': ') + 2).split(', '));
    return new Worker(script, { execArgv: flags.filter((flag) => !refused.has(flag)) });
  }
}
