import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CommanderError } from 'commander';
import { closeConnections } from './api/connections.js';
import { createContext, processIO, type IO } from './context.js';
import { EXIT, ReportedFailure, toCliError } from './errors.js';
import { boundMemory } from './memory.js';
import { buildProgram } from './program.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** Parses the command line, runs the command, and turns whatever it threw into one exit code. */
async function main(io: IO, argv: string[]): Promise<number> {
  const program = buildProgram(
    version,
    { writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) },
    async (load, options) => {
      const context = createContext(io, options);
      try {
        await (await load()).run(options, context);
      } catch (error) {
        if (error instanceof ReportedFailure) throw error;
        const failure = toCliError(error);
        context.output.failure(failure);
        throw new ReportedFailure(failure.exitCode);
      }
    },
  );
  try {
    await program.parseAsync(argv);
    return EXIT.success;
  } catch (error) {
    if (error instanceof ReportedFailure) return error.exitCode;
    // commander has already printed the usage error, or the help and version it was asked for.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.success : EXIT.usage;
    const failure = toCliError(error);
    createContext(io, { json: false, quiet: false, progress: false }).output.failure(failure);
    return failure.exitCode;
  } finally {
    await closeConnections();
  }
}

boundMemory();
const io = processIO();
process.on('SIGINT', () => {
  for (const path of io.temporaryFiles) rmSync(path, { recursive: true, force: true });
  process.exit(EXIT.interrupted);
});
// A reader that stops early (`cloudstore ls | head -1`) has what it wanted.
io.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.success);
});
process.exitCode = await main(io, process.argv);
