import type { BenchOptions, DatabaseKind } from './options.js';
import type { Plan } from './plan.js';
import type { Results } from './results.js';
import type { CloudStore } from './servers/cloudstore.js';

/** What every case receives: the run's settings, where to put files, and where results go. */
export interface BenchContext {
  options: BenchOptions;
  plan: Plan;
  results: Results;
  /** Temporary directory of this run: server data, logs, downloads. */
  runDirectory: string;
  /** Our server, one instance per database that is selected and reachable. */
  cloudStores: CloudStore[];
  /** Databases selected but not available, and why. */
  unavailableDatabases: Map<DatabaseKind, string>;
  /** The block device under the run directory, for its busy time and bytes written. */
  device: string | null;
  progress(message: string): void;
}
