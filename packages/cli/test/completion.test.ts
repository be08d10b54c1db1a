import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { CLI_BIN, CliUser } from './helpers/cli.js';
import { startServer } from './helpers/server.js';

const server = await startServer(t);
const [alice, bob] = await CliUser.registeredAll(t, server.url, 'alice', 'bob');
await alice.upload('notes.txt', 'notes');
await alice.upload('my plans.txt', 'plans');
await bob.upload('from-bob.txt', 'hello alice');
const share = await bob.run(['share', 'from-bob.txt', 'alice']);
if (share.code !== 0) throw new Error(share.stderr);

/** Syntax checks for the shells this machine has: `bash -n`, `zsh -n`, `fish --no-execute`. */
const SYNTAX_CHECKS = { bash: ['bash', '-n'], zsh: ['zsh', '-n'], fish: ['fish', '--no-execute'] } as const;
const isInstalled = (shell: string) => spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;

/**
 * What bash's completion offers for a command line (the last word is the one being completed),
 * with the script the CLI prints loaded as a user loads it and `cloudstore` the real binary.
 */
function completeInBash(user: CliUser, words: string[]): Promise<string[]> {
  const script = `
    cloudstore() { "$CLI_NODE" "$CLI_BIN" "$@"; }
    source <(cloudstore completion bash)
    COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1))
    _cloudstore
    printf '%s\\n' "\${COMPREPLY[@]}"`;
  const child = spawn('bash', ['-c', script, 'bash', 'cloudstore', ...words], {
    cwd: user.home,
    env: user.environment({ CLI_NODE: process.execPath, CLI_BIN }),
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.resume();
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', () => resolve(stdout.split('\n').filter((line) => line !== '')));
  });
}

t.test('a completion script for each shell, naming every command', async (t) => {
  for (const [shell, [checker, ...checkArgs]] of Object.entries(SYNTAX_CHECKS)) {
    const printed = await alice.run(['completion', shell]);
    t.equal(printed.code, 0, printed.stderr);
    t.equal(printed.stderr, '');
    for (const command of [
      'register',
      'login',
      'logout',
      'whoami',
      'put',
      'get',
      'rm',
      'ls',
      'share',
      'unshare',
      'transfer',
      'friends',
      'log',
    ]) {
      t.match(printed.stdout, new RegExp(`\\b${command}\\b`), `${shell} knows ${command}`);
    }
    t.notMatch(printed.stdout, /\$\{[a-z]+\(/i, `${shell}: no JavaScript left in the script`);
    if (!isInstalled(checker)) {
      t.comment(`${checker} is not installed: its syntax check is left out`);
      continue;
    }
    const script = join(alice.home, `completion.${shell}`);
    await writeFile(script, printed.stdout);
    const check = spawnSync(checker, [...checkArgs, script], { encoding: 'utf8' });
    t.equal(check.status, 0, `${checker} accepts the script: ${check.stderr}`);
  }
  t.equal((await alice.run(['completion', 'tcsh'])).code, 2, 'an unknown shell is wrong usage');
});

t.test('bash completes commands, options, choices and remote names', async (t) => {
  t.same(await completeInBash(alice, ['tr']), ['transfer']);
  t.same(await completeInBash(alice, ['get', '--o']), ['--output', '--owner']);
  t.same(await completeInBash(alice, ['--json', 'ls', '--sh']), ['--shared']);
  t.same(await completeInBash(alice, ['put', '--no-r']), ['--no-resume'], "put's new flag completes");
  t.same(await completeInBash(alice, ['completion', '']), ['bash', 'zsh', 'fish']);
  t.same((await completeInBash(alice, ['get', ''])).sort(), ['from-bob.txt', 'my\\ plans.txt', 'notes.txt']);
  t.same(await completeInBash(alice, ['rm', 'notes.txt', 'my']), ['my\\ plans.txt'], 'rm takes several names');
  t.same(await completeInBash(alice, ['share', 'notes.txt', '']), [], 'the second argument of share is a user');
  t.same(await completeInBash(alice, ['--server', 'http://127.0.0.1:1', 'get', '']), [], '--server is passed on');
});

t.test('the hidden names helper', async (t) => {
  const names = await alice.run(['__complete-names']);
  t.equal(names.code, 0, names.stderr);
  t.same(names.stdout.split('\n').filter(Boolean).sort(), ['from-bob.txt', 'my plans.txt', 'notes.txt']);

  const stranger = await CliUser.create(t, server.url, 'stranger');
  const loggedOut = await stranger.run(['__complete-names']);
  t.same([loggedOut.code, loggedOut.stdout, loggedOut.stderr], [0, '', ''], 'logged out: nothing at all');
  const unreachable = await alice.run(['__complete-names', '--server', 'http://127.0.0.1:1']);
  t.same([unreachable.code, unreachable.stdout, unreachable.stderr], [0, '', ''], 'no server: nothing at all');

  const help = await alice.run(['--help']);
  t.match(help.stdout, /completion/);
  t.notMatch(help.stdout, /__complete-names/, 'the helper is not in the help');
});
