import { spawn, type ChildProcess } from 'node:child_process';

/** How a process ended, with everything it printed. */
export interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to its standard input, which is then closed; without it, standard input is /dev/null. */
  input?: string;
  /** Called once it is started (to kill it mid-way, say). */
  onStart?: (child: ChildProcess) => void;
}

/** Runs `command` to its end, as a user at a terminal would, and collects what it printed. */
export function runProcess(command: string, args: string[], { env, cwd, input, onStart }: RunOptions = {}): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    if (input !== undefined) child.stdin!.end(input);
    onStart?.(child);
  });
}
