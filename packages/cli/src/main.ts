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
        if (failure.exitCode === EXIT.usage) io.stderr.write(helpPointer(subcommand));
        throw new ReportedFailure(failure.exitCode);
      }
    },
  );
  // The command being run, once commander has found it: the --help pointer names it.
  let subcommand: string | undefined;
  program.hook('preSubcommand', (_program, command) => {
    subcommand = command.name();
  });
  try {
    await program.parseAsync(argv);
    return EXIT.success;
  } catch (error) {
    if (error instanceof ReportedFailure) return error.exitCode;
    // commander has already printed the usage error, or the help and version it was asked for.
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT.success;
      reportUsageError(io, error, program.opts<{ json?: boolean }>().json === true, subcommand);
      return EXIT.usage;
    }
    const failure = toCliError(error);
    createContext(io, { json: false, quiet: false, progress: false }).output.failure(failure);
    return failure.exitCode;
  } finally {
    await closeConnections();
  }
}

/**
 * After commander's own line: the way to the help (unless the help itself was just printed,
 * for a missing command), and with --json the failure's JSON line on standard output.
 */
function reportUsageError(io: IO, error: CommanderError, json: boolean, subcommand: string | undefined): void {
  const helpShown = error.code === 'commander.help';
  if (!helpShown) io.stderr.write(helpPointer(subcommand));
  if (!json) return;
  const message = helpShown
    ? 'a command is needed'
    : error.message
        .replace(/^error: /, '')
        .replaceAll('\n', ' ')
        .trim();
  io.stdout.write(`${JSON.stringify({ error: { code: 'USAGE', message }, exit: EXIT.usage })}\n`);
}

function helpPointer(subcommand: string | undefined): string {
  return subcommand
    ? `run 'cloudstore ${subcommand} --help' for its usage\n`
    : `run 'cloudstore --help' (or 'cloudstore COMMAND --help')\n`;
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
