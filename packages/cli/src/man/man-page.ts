import type { Command, Help } from 'commander';
import { EXIT } from '../errors.js';

/**
 * The manual page (man(7) roff) written from the commander definitions, like the completion
 * scripts: a new command or option is documented here without a second list. What commander
 * does not hold (exit codes, environment, files) is the part of CLI.md a manual must carry.
 */
export function manPage(program: Command, version: string): string {
  const help = program.createHelp();
  const name = program.name();
  return [
    `.TH ${name.toUpperCase()} 1 "" "${name} ${version}" "User Commands"`,
    // Left-aligned and unhyphenated: option names and variables must not be split.
    '.ad l',
    '.nh',
    '.SH NAME',
    `${name} \\- ${roff(program.description())}`,
    '.SH SYNOPSIS',
    `.B ${name}`,
    '[\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGUMENTS\\fR]',
    '.SH DESCRIPTION',
    roff(
      'Results go to standard output, one line per item (one JSON object per line with --json); notices, prompts and progress bars go to standard error, and progress bars only on a terminal.',
    ),
    'Global options are accepted before or after the command.',
    '.SH GLOBAL OPTIONS',
    ...help.visibleOptions(program).flatMap((option) => entry(option.flags, help.optionDescription(option))),
    '.SH COMMANDS',
    // commander's implicit `help [command]` is -h, already among the global options.
    ...help
      .visibleCommands(program)
      .filter((command) => command.name() !== 'help')
      .flatMap((command) => commandSection(help, command)),
    '.SH EXIT STATUS',
    ...EXIT_MEANINGS.flatMap(([code, meaning]) => entry(String(code), meaning)),
    '.SH ENVIRONMENT',
    ...ENVIRONMENT.flatMap(([variable, meaning]) => entry(variable, meaning)),
    '.SH FILES',
    ...entry(
      '$XDG_CONFIG_HOME/cloudstore/credentials.json',
      'the server of the last login and, per server, the username and (where no system keychain took it) the session token; mode 0600. Without XDG_CONFIG_HOME: ~/.config/cloudstore/credentials.json.',
    ),
    ...entry(
      '$XDG_STATE_HOME/cloudstore/uploads/',
      'one record (mode 0600) per unfinished upload of 64 MiB or more, keyed by server, user, path, size, modification time and digest, so that the next put of the same file resumes it; removed when the upload finishes, starts over or is 24 hours old. Without XDG_STATE_HOME: ~/.local/state/cloudstore/uploads/.',
    ),
    ...entry(
      '$XDG_STATE_HOME/cloudstore/downloads/',
      'the ETag each NAME.cloudstore-part file was started with, so that the next get resumes it; removed when the download finishes or starts over.',
    ),
    ...entry(
      'NAME.cloudstore-part',
      'beside the target of get: the download so far; renamed to NAME once its SHA-256 matches, removed when it does not.',
    ),
    '.SH SEE ALSO',
    'docs/CLI.md and docs/API.md in the CloudStore repository.',
    '',
  ].join('\n');
}

function commandSection(help: Help, command: Command): string[] {
  const lines = [`.SS "${roff(help.commandUsage(command))}"`, roff(command.description())];
  for (const argument of help.visibleArguments(command).filter((argument) => argument.description)) {
    lines.push(...entry(argument.name().toUpperCase(), help.argumentDescription(argument)));
  }
  for (const option of help.visibleOptions(command).filter((option) => option.long !== '--help')) {
    lines.push(...entry(option.flags, help.optionDescription(option)));
  }
  return lines;
}

/** A tagged paragraph: the term in bold, its meaning indented below. */
function entry(term: string, meaning: string): string[] {
  return ['.TP', `.B ${roff(term)}`, roff(meaning)];
}

/**
 * Text as roff reads it literally: a backslash is roff's escape, a hyphen must be `\-` to stay a
 * minus (copied options then work), and a line that starts with `.` or `'` would be a request.
 */
function roff(text: string): string {
  return text.replaceAll('\\', '\\e').replaceAll('-', '\\-').replace(/^[.']/, '\\&$&');
}

const EXIT_MEANINGS: [number, string][] = [
  [EXIT.success, 'success'],
  [EXIT.failure, 'any other failure: network, server error, rate limited (the message says when to retry)'],
  [EXIT.usage, 'wrong usage'],
  [EXIT.unauthenticated, 'not logged in, the session expired or the token was refused, or a wrong username or password at login'],
  [EXIT.notFound, 'not found: a local path or a remote file'],
  [EXIT.notAllowed, 'not allowed: not the owner, or registration closed'],
  [EXIT.conflict, 'conflict: name taken (put --no-clobber included), ambiguous name, target exists'],
  [EXIT.integrity, 'integrity failure: the content does not match its SHA-256'],
  [EXIT.interrupted, "interrupted by Ctrl-C (temporary files removed; a get's part file and a large put's upload are kept, to be resumed)"],
];

const ENVIRONMENT: [string, string][] = [
  ['CLOUDSTORE_SERVER', 'the server, when --server is not given (else the server of the last login, else http://127.0.0.1:3000)'],
  ['CLOUDSTORE_TOKEN', 'a session token to use instead of the saved session, for scripts and CI'],
  ['CLOUDSTORE_DEBUG', 'set to 1: a stack trace follows each error line'],
  ['XDG_CONFIG_HOME', 'where the cloudstore directory with credentials.json lives (default ~/.config)'],
  ['XDG_STATE_HOME', 'where the cloudstore directory with what resumes transfers lives (default ~/.local/state)'],
];
