import { createInterface } from 'node:readline/promises';
import type { Context } from '../context.js';
import { CliError, EXIT, usageError } from '../errors.js';

const ENTER = new Set(['\r', '\n']);
const ERASE = new Set(['\u007f', '\b']);
const CTRL_C = '\u0003';
const CTRL_D = '\u0004';

/** The username given as an argument, else asked for on a terminal. */
export async function askUsername(given: string | undefined, context: Context): Promise<string> {
  if (given !== undefined) return given;
  if (!context.isStdinTTY) throw usageError('give the username as an argument: there is no terminal to ask on');
  const reader = createInterface({ input: context.stdin, output: context.stderr, terminal: true });
  try {
    return (await reader.question('Username: ')).trim();
  } finally {
    reader.close();
  }
}

/**
 * A password from standard input (`--password-stdin`: everything up to the end, one final
 * newline dropped), else from a prompt on the terminal with echo off. Never from an argument,
 * where other users of the machine could read it in the process list.
 */
export async function askPassword(fromStdin: boolean, prompt: string, context: Context): Promise<string> {
  if (fromStdin) {
    const chunks: Buffer[] = [];
    for await (const chunk of context.stdin) chunks.push(chunk as Buffer);
    const password = Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
    if (!password) throw usageError('--password-stdin: standard input held no password');
    return password;
  }
  if (!context.isStdinTTY) throw usageError('there is no terminal to ask for the password on: use --password-stdin');
  return readHidden(prompt, context);
}

function readHidden(prompt: string, context: Context): Promise<string> {
  const { stdin, stderr } = context;
  return new Promise((resolve, reject) => {
    let typed = '';
    const finish = (outcome: () => void) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
      outcome();
    };
    const onData = (chunk: string) => {
      for (const character of chunk) {
        if (ENTER.has(character)) return finish(() => resolve(typed));
        if (character === CTRL_C || (character === CTRL_D && typed === '')) {
          return finish(() => reject(new CliError('INTERRUPTED', 'interrupted', EXIT.interrupted)));
        }
        if (ERASE.has(character)) typed = [...typed].slice(0, -1).join('');
        else if (character >= ' ') typed += character;
      }
    };
    // Echo goes off before the prompt shows, so that even a quick typist's password never appears.
    stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    stdin.on('data', onData);
    stdin.resume();
    stderr.write(prompt);
  });
}
