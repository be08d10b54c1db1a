import type { Command } from 'commander';
import { bashScript } from '../completion/bash.js';
import { fishScript } from '../completion/fish.js';
import { describeProgram, type CompletionSpec, type Shell } from '../completion/spec.js';
import { zshScript } from '../completion/zsh.js';
import type { Context, GlobalOptions } from '../context.js';

export interface CompletionOptions extends GlobalOptions {
  shell: Shell;
  /** The whole command line as defined, which the script is generated from. */
  program: Command;
}

const SCRIPTS: Record<Shell, (spec: CompletionSpec) => string> = { bash: bashScript, zsh: zshScript, fish: fishScript };

/** The script itself is the result: it goes to standard output whatever --quiet or --json say. */
export async function run(options: CompletionOptions, context: Context): Promise<void> {
  context.stdout.write(SCRIPTS[options.shell](describeProgram(options.program)));
}
