import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../program.js';
import { manPage } from './man-page.js';

/**
 * Build step (the root `pnpm build` runs it after tsc): writes man/cloudstore.1, which the
 * package's "man" field installs; a path argument writes it elsewhere.
 */
const { version } = createRequire(import.meta.url)('../../../package.json') as { version: string };
const target = resolve(process.argv[2] ?? fileURLToPath(new URL('../../../man/cloudstore.1', import.meta.url)));
const silent = { writeOut() {}, writeErr() {} };
const program = buildProgram(version, silent, async () => {});
await mkdir(dirname(target), { recursive: true });
await writeFile(target, manPage(program, version));
