import type { Command, Option } from 'commander';

/**
 * What a completion script needs to know about the command line, read from the commander
 * definitions themselves, so that a new command or option completes without a second list.
 */
export interface CompletionSpec {
  commands: CommandSpec[];
  globalOptions: OptionSpec[];
  /** Every flag, of any command, that takes a value: the word after it is not an argument. */
  valueFlags: string[];
}

export interface CommandSpec {
  name: string;
  description: string;
  options: OptionSpec[];
  /** The positional arguments in order; the last may repeat. */
  positionals: Positional[];
}

export interface OptionSpec {
  flags: string[];
  description: string;
  value: ValueKind | undefined;
}

/**
 * What a word stands for, from the placeholder the definitions give it: `<name>` is a file on
 * the server, `<path>` a local one; anything else (`<user>`, `<url>`) is not completed.
 */
export type ValueKind = { kind: 'remote-name' } | { kind: 'local-path' } | { kind: 'choice'; choices: string[] } | { kind: 'other' };

export interface Positional {
  value: ValueKind;
  isVariadic: boolean;
}

export function describeProgram(program: Command): CompletionSpec {
  const help = program.createHelp();
  const globalOptions = help.visibleOptions(program).map(describeOption);
  const globalFlags = new Set(globalOptions.flatMap((option) => option.flags));
  const commands = help.visibleCommands(program).map((command) => ({
    name: command.name(),
    description: command.description(),
    // Each command's own --help is the program's, already among the global options.
    options: help
      .visibleOptions(command)
      .map(describeOption)
      .filter((option) => !option.flags.every((flag) => globalFlags.has(flag))),
    positionals: command.registeredArguments.map((argument) => ({
      value: argument.argChoices ? { kind: 'choice' as const, choices: argument.argChoices } : kindOf(argument.name()),
      isVariadic: argument.variadic,
    })),
  }));
  const valueFlags = [...globalOptions, ...commands.flatMap((command) => command.options)]
    .filter((option) => option.value !== undefined)
    .flatMap((option) => option.flags);
  return { commands, globalOptions, valueFlags: [...new Set(valueFlags)] };
}

function describeOption(option: Option): OptionSpec {
  const placeholder = /[<[]([\w-]+)/.exec(option.flags.replace(/^[^<[]*/, ''))?.[1];
  return {
    flags: [option.short, option.long].filter((flag): flag is string => flag !== undefined),
    description: option.description,
    value: placeholder === undefined ? undefined : kindOf(placeholder),
  };
}

function kindOf(placeholder: string): ValueKind {
  if (placeholder === 'name') return { kind: 'remote-name' };
  if (placeholder === 'path' || placeholder === 'dest') return { kind: 'local-path' };
  return { kind: 'other' };
}

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** The hidden command the scripts call for the user's remote names (one a line, nothing on any failure). */
export const NAMES_COMMAND = '__complete-names';

/** The positions, as shell patterns (`0`, `1`, `*` for a repeating last one), where `wanted` applies. */
export function positionPatterns(positionals: Positional[], wanted: (value: ValueKind) => boolean): string[] {
  return positionals.flatMap((positional, index) => {
    if (!wanted(positional.value)) return [];
    const isLast = index === positionals.length - 1;
    return [isLast && positional.isVariadic ? '*' : String(index)];
  });
}

/** A word in single quotes for bash and zsh. */
export const singleQuoted = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;
