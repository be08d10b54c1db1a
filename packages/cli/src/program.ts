import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { NAMES_COMMAND, SHELLS, type Shell } from './completion/spec.js';
import type { Context, GlobalOptions } from './context.js';

/** A command module, imported only when its command runs, so that start-up stays fast. */
export type CommandModule<O> = { run(options: O, context: Context): Promise<void> };
export type Invoke = <O extends GlobalOptions>(load: () => Promise<CommandModule<O>>, options: O) => Promise<void>;

export interface ProgramIO {
  writeOut(text: string): void;
  writeErr(text: string): void;
}

/**
 * The command line of CLI.md. The global options are the program's: commander recognises
 * them before or after the subcommand (`cloudstore --json ls` and `cloudstore ls --json`).
 */
export function buildProgram(version: string, io: ProgramIO, invoke: Invoke): Command {
  const program = new Command('cloudstore')
    .description('Upload, share and download files on a CloudStore server')
    .version(`cloudstore ${version}`, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .option('--server <url>', 'the server (else $CLOUDSTORE_SERVER, else the last login, else http://127.0.0.1:3000)')
    .option('--json', 'print results as JSON, one object per line')
    .option('--quiet', 'print no results or notices, only errors')
    .option('--no-progress', 'draw no progress bars')
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: io.writeOut,
      writeErr: io.writeErr,
      outputError: (message, write) => write(`cloudstore: ${message.replace(/^error: /, '')}`),
    })
    .exitOverride();

  const passwordStdin = new Option('--password-stdin', 'read the password from standard input');
  const owner = new Option('--owner <user>', 'the file of this owner, among files of the same name');

  const accountEntries = [
    { name: 'register', description: 'create an account, then log in', load: () => import('./commands/register.js') },
    { name: 'login', description: 'log in and remember the session', load: () => import('./commands/login.js') },
  ];
  for (const entry of accountEntries) {
    program
      .command(entry.name)
      .description(entry.description)
      .argument('[username]')
      .addOption(passwordStdin)
      .action((username: string | undefined, options: { passwordStdin?: boolean }, command: Command) =>
        invoke(entry.load, { ...globals(command), username, passwordStdin: options.passwordStdin === true }),
      );
  }

  program
    .command('logout')
    .description('end the session on the server and forget it here')
    .action((_options: object, command: Command) => invoke(() => import('./commands/logout.js'), globals(command)));

  program
    .command('whoami')
    .description('user, server, files and bytes owned, storage after deduplication, quota')
    .action((_options: object, command: Command) => invoke(() => import('./commands/whoami.js'), globals(command)));

  program
    .command('log')
    .description('the audit trail of your account and files, newest first')
    .option('--limit <count>', 'the most events to show', wholeNumber, 100)
    .action((options: { limit: number }, command: Command) =>
      invoke(() => import('./commands/log.js'), { ...globals(command), limit: options.limit }),
    );

  program
    .command('put')
    .description("upload files ('-' reads standard input, with --name)")
    .argument('<path...>')
    .option('--name <name>', 'the filename on the server (one path only)')
    .option('--no-clobber', 'refuse to replace a file of yours of the same name (exit 6)')
    .option('--no-resume', 'start a large upload over, discarding an unfinished one (64 MiB or more)')
    .action((paths: string[], options: { name?: string; clobber: boolean; resume: boolean }, command: Command) =>
      invoke(() => import('./commands/put.js'), {
        ...globals(command),
        paths,
        name: options.name,
        noClobber: !options.clobber,
        resume: options.resume,
      }),
    );

  program
    .command('get')
    .description('download a file (to ./NAME, DIR/NAME, a path, or - for standard output)')
    .argument('<name>')
    .argument('[dest]', 'where to write: a file, a directory, or - for standard output (as -o)')
    .option('-o, --output <path>', 'where to write: a file, a directory, or - for standard output')
    .addOption(owner)
    .option('-f, --force', 'overwrite an existing file')
    .action((name: string, dest: string | undefined, options: { output?: string; owner?: string; force?: boolean }, command: Command) => {
      if (dest !== undefined && options.output !== undefined)
        command.error('error: give the destination once: as DEST or with -o, not both');
      return invoke(() => import('./commands/get.js'), {
        ...globals(command),
        name,
        output: dest ?? options.output,
        owner: options.owner,
        force: options.force === true,
      });
    });

  program
    .command('rm')
    .description('delete files you own')
    .argument('<name...>')
    .addOption(owner)
    .action((names: string[], options: { owner?: string }, command: Command) =>
      invoke(() => import('./commands/rm.js'), { ...globals(command), names, owner: options.owner }),
    );

  program
    .command('ls')
    .description('list the files you own and those shared with you')
    .addOption(new Option('--owned', 'only the files you own').conflicts('shared'))
    .addOption(new Option('--shared', 'only the files shared with you'))
    .action((options: { owned?: boolean; shared?: boolean }, command: Command) =>
      invoke(() => import('./commands/ls.js'), { ...globals(command), owned: options.owned === true, shared: options.shared === true }),
    );

  program
    .command('verify')
    .description("check files against the server's digests (--read-data: re-hash the stored bytes; --local: against local files)")
    .argument('[name...]', 'files on the server (with --local: local files or directories)')
    .option('--all', 'every file you can read (with --local: also report your files missing locally)')
    .option('--local', 'the arguments are local paths, compared with the files of the same names on the server')
    .option('--read-data', 'have the server re-read and re-hash the stored bytes of each file')
    .addOption(owner)
    .action((names: string[], options: { all?: boolean; local?: boolean; readData?: boolean; owner?: string }, command: Command) =>
      invoke(() => import('./commands/verify.js'), {
        ...globals(command),
        names,
        all: options.all === true,
        local: options.local === true,
        readData: options.readData === true,
        owner: options.owner,
      }),
    );

  const friendsChanges = [
    { name: 'share', description: 'give friends read access to a file', load: () => import('./commands/share.js') },
    { name: 'unshare', description: "take friends' read access away", load: () => import('./commands/unshare.js') },
  ];
  for (const change of friendsChanges) {
    program
      .command(change.name)
      .description(change.description)
      .argument('<name>')
      .argument('<user...>')
      .addOption(owner)
      .action((name: string, usernames: string[], options: { owner?: string }, command: Command) =>
        invoke(change.load, { ...globals(command), name, usernames, owner: options.owner }),
      );
  }

  program
    .command('transfer')
    .description('hand ownership of a file over')
    .argument('<name>')
    .argument('<user>')
    .addOption(owner)
    .action((name: string, username: string, options: { owner?: string }, command: Command) =>
      invoke(() => import('./commands/transfer.js'), { ...globals(command), name, username, owner: options.owner }),
    );

  program
    .command('friends')
    .description('who can read a file')
    .argument('<name>')
    .addOption(owner)
    .action((name: string, options: { owner?: string }, command: Command) =>
      invoke(() => import('./commands/friends.js'), { ...globals(command), name, owner: options.owner }),
    );

  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .addArgument(new Argument('<shell>').choices(SHELLS))
    .action((shell: Shell, _options: object, command: Command) =>
      invoke(() => import('./commands/completion.js'), { ...globals(command), shell, program }),
    );

  program
    .command(NAMES_COMMAND, { hidden: true })
    .action((_options: object, command: Command) => invoke(() => import('./commands/complete-names.js'), globals(command)));

  return program;
}

/** `--limit`: a whole number from 1; anything else is wrong usage. */
function wholeNumber(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('give a whole number from 1');
  }
  return Number(value);
}

function globals(command: Command): GlobalOptions {
  const all = command.optsWithGlobals<{ server?: string; json?: boolean; quiet?: boolean; progress?: boolean }>();
  return { server: all.server, json: all.json === true, quiet: all.quiet === true, progress: all.progress !== false };
}
