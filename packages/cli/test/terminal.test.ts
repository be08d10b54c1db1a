import { join } from 'node:path';
import t from 'tap';
import { CliUser, PASSWORD, runInTerminal } from './helpers/cli.js';
import { writeRandomFile } from './helpers/files.js';
import { startServer } from './helpers/server.js';

const server = await startServer(t);
const MIB = 1024 * 1024;
const BAR = /\[[#-]{20}\] +[\d.]+ (B|KiB|MiB) \/ 16\.0 MiB +[\d.]+ (B|KiB|MiB)\/s/;

const alice = await CliUser.registered(t, server.url, 'alice');
await writeRandomFile(join(alice.home, 'first.bin'), 16 * MIB);
await writeRandomFile(join(alice.home, 'second.bin'), 16 * MIB);

t.test('no progress when standard error is not a terminal', async (t) => {
  const put = await alice.run(['put', 'first.bin']);
  t.equal(put.code, 0, put.stderr);
  t.equal(put.stderr, '');
  t.equal(put.stdout, 'first.bin: uploaded 16.0 MiB\n');
  const get = await alice.run(['get', 'first.bin', '-o', 'copy.bin']);
  t.equal(get.stderr, '');
});

t.test('a progress bar for hashing, uploading and downloading on a terminal', async (t) => {
  const put = await runInTerminal(alice, ['put', 'second.bin']);
  t.equal(put.code, 0, put.output);
  t.match(put.output, /hashing second\.bin {2}/);
  t.match(put.output, /uploading second\.bin {2}/);
  t.match(put.output, BAR);
  t.match(put.output, /\r\u001b\[Ksecond\.bin: uploaded 16\.0 MiB\r\n$/, 'the bar is cleared before the result line');

  const get = await runInTerminal(alice, ['get', 'second.bin', '-o', 'again.bin']);
  t.equal(get.code, 0, get.output);
  t.match(get.output, /downloading second\.bin {2}/);
  t.match(get.output, BAR);
});

t.test('no progress with --no-progress or --quiet, even on a terminal', async (t) => {
  const noProgress = await runInTerminal(alice, ['put', 'second.bin', '--no-progress']);
  t.equal(noProgress.code, 0, noProgress.output);
  t.equal(noProgress.output, 'second.bin: deduplicated, nothing uploaded (16.0 MiB); it replaces your earlier second.bin\r\n');
  const quiet = await runInTerminal(alice, ['--quiet', 'put', 'second.bin']);
  t.equal(quiet.code, 0);
  t.equal(quiet.output, '');
});

t.test('the password prompt does not echo what is typed', async (t) => {
  const laptop = await CliUser.create(t, server.url, 'alice');
  const login = await runInTerminal(
    laptop,
    ['login'],
    [
      ['Username: ', 'alice\r'],
      ['Password: ', `${PASSWORD}\r`],
    ],
  );
  t.equal(login.code, 0, login.output);
  t.match(login.output, /Password: \r?\n/, 'nothing after the prompt');
  t.notMatch(login.output, PASSWORD);
  t.match(login.output, `logged in to ${server.url} as alice`);

  const wrong = await runInTerminal(laptop, ['login', 'alice'], [['Password: ', 'guess-again\r']]);
  t.equal(wrong.code, 3);
  t.notMatch(wrong.output, 'guess-again');
});
