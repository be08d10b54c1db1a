import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { CLI_BIN } from './helpers/cli.js';

const PACKAGE = fileURLToPath(new URL('../../', import.meta.url));
const WRITER = join(PACKAGE, 'dist', 'src', 'man', 'write-man-page.js');
const has = (program: string) => spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;

const scratch = await mkdtemp(join(tmpdir(), 'cloudstore-man-'));
t.teardown(() => rm(scratch, { recursive: true, force: true }));
const written = join(scratch, 'cloudstore.1');
const build = spawnSync(process.execPath, [WRITER, written], { encoding: 'utf8' });
const page = await readFile(written, 'utf8');

t.test('the build step writes the page the package installs', async (t) => {
  t.equal(build.status, 0, build.stderr);
  const { man } = JSON.parse(await readFile(join(PACKAGE, 'package.json'), 'utf8')) as { man: string };
  t.equal(man, './man/cloudstore.1');
  t.equal(await readFile(join(PACKAGE, man), 'utf8'), page, 'pnpm build wrote the current page');
});

t.test('every command of --help is in COMMANDS, with its options', async (t) => {
  const help = spawnSync(process.execPath, [CLI_BIN, '--help'], { encoding: 'utf8' }).stdout;
  const commands = [...help.split('Commands:')[1].matchAll(/^ {2}([a-z]+) /gm)].map((match) => match[1]).filter((name) => name !== 'help');
  t.ok(commands.length >= 13, commands.join(' '));
  for (const command of commands) t.match(page, new RegExp(`^\\.SS "cloudstore ${command} `, 'm'), command);
  t.match(page, /^\.B \\-\\-no\\-clobber$/m, "put's --no-clobber");
  t.match(page, /^\.B \\-\\-no\\-resume$/m, "put's --no-resume");
  t.match(page, /^\.B \$XDG_STATE_HOME\/cloudstore\/uploads\/$/m, 'where resumable uploads are kept');
  t.match(page, /^\.B \\-V, \\-\\-version$/m);
  for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'EXIT STATUS', 'ENVIRONMENT', 'FILES']) {
    t.match(page, new RegExp(`^\\.SH ${section}$`, 'm'), section);
  }
  t.match(page, /^\.B CLOUDSTORE_TOKEN$/m);
});

t.test('the page parses: groff warns about nothing, and man renders it', async (t) => {
  // Every request line is one of the few man(7) macros the generator uses.
  const requests = page.split('\n').filter((line) => /^[.']/.test(line));
  t.same(
    requests.filter((line) => !/^\.(TH|SH|SS|TP|B|ad|nh) ?/.test(line)),
    [],
  );
  if (has('groff')) {
    const groff = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', written], { encoding: 'utf8' });
    t.equal(groff.status, 0);
    t.equal(groff.stderr, '', 'no warnings');
  }
  if (has('man')) {
    const man = spawnSync('man', ['-l', written], {
      encoding: 'utf8',
      env: { ...process.env, MANWIDTH: '100', MANPAGER: 'cat', PAGER: 'cat' },
    });
    t.equal(man.status, 0, man.stderr);
    t.match(man.stdout, /EXIT STATUS/);
    t.match(man.stdout, /cloudstore get \[options\] <name> \[dest\]/);
    t.match(man.stdout, /--no-clobber/, 'hyphens survive as typed');
  }
});
