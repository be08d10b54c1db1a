import { fileURLToPath } from 'node:url';

/**
 * Where the built programs the harness runs live. It runs them as processes, never imports
 * them: what it measures is what a user starts.
 */

const fromHere = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

/** This file is packages/bench/dist/src/repository-paths.js once built. */
export const REPOSITORY_ROOT = fromHere('../../../../');
export const SERVER_MAIN = fromHere('../../../server/dist/src/main.js');
export const CLI_BIN = fromHere('../../../cli/bin/cloudstore.js');
export const CLI_MAIN = fromHere('../../../cli/dist/src/main.js');
/** What `pnpm seed` runs once it has built. */
export const SEED_SCRIPT = fromHere('../../../server/dist/src/scripts/seed.js');
export const ROOT_PACKAGE_JSON = fromHere('../../../../package.json');
export const PERFORMANCE_REPORT = fromHere('../../../../docs/PERFORMANCE.md');
