/** Flags that load code into a thread before its own module: preloads and module hooks. */
const LOADING_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader']);

/**
 * The process's Node flags for a worker thread that only computes (digests, password hashes),
 * less those that load code first (an agent's `--import`, a test runner's hooks): the thread
 * needs none of it, and each would slow its start (by a second and more under tap). The others
 * (`--cpu-prof`, memory limits, source maps) stay.
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
