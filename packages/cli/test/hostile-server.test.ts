import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import t from 'tap';
import { CLI_BIN, CliUser, jsonLines } from './helpers/cli.js';

const MIB = 1024 * 1024;
const DISGUISED = 'invoice\u202Efdp.exe';
const REWRITING = 'notes\u001b[2J\u001b[31m.txt';

const entry = (filename: string) => ({
  filename,
  owner: 'mallory',
  role: 'friend',
  size: 1,
  sha256: '0'.repeat(64),
  content_type: 'text/plain',
  created_at: '2025-01-01T00:00:00.000Z',
  updated_at: '2025-01-01T00:00:00.000Z',
});

/** Sends a listing of `total` bytes as fast as the client reads it; resolves with the bytes written. */
async function streamHugeListing(reply: ServerResponse, total: number): Promise<number> {
  const filler = `${JSON.stringify(entry('x'.repeat(200)))},`.repeat(1000);
  let sent = 0;
  const write = (text: string) => {
    sent += Buffer.byteLength(text);
    if (reply.write(text)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const resume = () => {
        reply.off('drain', resume).off('close', resume);
        resolve();
      };
      reply.on('drain', resume).on('close', resume);
    });
  };
  await write('{"files":[');
  while (sent < total && !reply.destroyed) await write(filler);
  if (!reply.destroyed) reply.end(`${JSON.stringify(entry('last'))}],"next_cursor":null}`);
  return sent;
}

/**
 * A server that answers as an attacker would; the bearer token the CLI sends chooses how.
 * `huge` streams a 512 MiB listing, `announced` declares 512 MiB and sends a few bytes, `names`
 * lists files whose names would rewrite the terminal, and any download fails with such a message.
 */
const sentBytes: number[] = [];
const hostile = createServer((request, reply) => {
  const scenario = request.headers.authorization?.replace('Bearer ', '');
  if (request.url?.startsWith('/cloud/my-drive/')) {
    reply.writeHead(404, { 'content-type': 'application/json' });
    reply.end(JSON.stringify({ code: 'FILE_NOT_FOUND', message: `no file \u001b]0;pwned\u0007${DISGUISED}` }));
    return;
  }
  if (scenario === 'huge') {
    reply.writeHead(200, { 'content-type': 'application/json' });
    void streamHugeListing(reply, 512 * MIB).then((sent) => sentBytes.push(sent));
  } else if (scenario === 'announced') {
    reply.writeHead(200, { 'content-type': 'application/json', 'content-length': String(512 * MIB) });
    reply.write('{"files":[');
  } else {
    reply.writeHead(200, { 'content-type': 'application/json' });
    reply.end(JSON.stringify({ files: [entry(DISGUISED), entry(REWRITING)], next_cursor: null }));
  }
});
await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
t.teardown(() => {
  hostile.closeAllConnections();
  hostile.close();
});
const address = hostile.address();
const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
const user = await CliUser.create(t, url, 'victim');

/** Runs the CLI and samples its peak resident memory (VmHWM) until it exits. */
function runMeasured(args: string[], token: string): Promise<{ code: number | null; stderr: string; peakMiB: number }> {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    env: user.environment({ CLOUDSTORE_TOKEN: token }),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let peakKiB = 0;
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const sampler = setInterval(() => {
    readFile(`/proc/${child.pid}/status`, 'utf8').then(
      (status) => (peakKiB = Math.max(peakKiB, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0))),
      () => {},
    );
  }, 5);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearInterval(sampler);
      resolve({ code, stderr, peakMiB: peakKiB / 1024 });
    });
  });
}

t.test('a listing far over 16 MiB is refused while it streams, without holding it', async (t) => {
  const huge = await runMeasured(['ls'], 'huge');
  t.equal(huge.code, 1, huge.stderr);
  t.match(huge.stderr, `cloudstore: ${url} sent an answer larger than 16 MiB: refused`);
  t.notMatch(huge.stderr, /at .*\.js:\d+/, 'no stack trace');
  t.ok(huge.peakMiB > 0, 'memory was sampled');
  t.ok(huge.peakMiB < 160, `the CLI's peak RSS stayed modest: ${huge.peakMiB.toFixed(0)} MiB`);
  await t.resolveMatch(
    (async () => {
      while (sentBytes.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      return sentBytes[0] < 128 * MIB;
    })(),
    true,
    'the server was cut off long before the end of its 512 MiB',
  );
});

t.test('a Content-Length over 16 MiB is refused before reading the body', async (t) => {
  const started = Date.now();
  const announced = await runMeasured(['ls', '--json'], 'announced');
  t.equal(announced.code, 1, announced.stderr);
  t.match(announced.stderr, 'larger than 16 MiB: refused');
  t.ok(Date.now() - started < 30_000, 'without waiting for a body that never comes');
});

t.test('names and messages from the server are escaped on the terminal, raw in JSON', async (t) => {
  const human = await user.run(['ls'], { env: { CLOUDSTORE_TOKEN: 'names' } });
  t.equal(human.code, 0, human.stderr);
  t.match(human.stdout, 'mallory  invoice\\u202efdp.exe\n');
  t.match(human.stdout, 'mallory  notes\\u001b[2J\\u001b[31m.txt\n');
  t.notMatch(human.stdout, /[\u001b\u202e]/, 'no raw control character reaches the terminal');

  const json = await user.run(['ls', '--json'], { env: { CLOUDSTORE_TOKEN: 'names' } });
  t.equal(json.code, 0, json.stderr);
  t.same(
    jsonLines(json.stdout).map((line) => line.filename),
    [DISGUISED, REWRITING],
    'JSON carries the names as they are',
  );

  const failed = await user.run(['get', 'anything', '--json'], { env: { CLOUDSTORE_TOKEN: 'names' } });
  t.equal(failed.code, 4);
  t.equal(failed.stderr, 'cloudstore: anything: no file \\u001b]0;pwned\\u0007invoice\\u202efdp.exe\n');
  t.same(jsonLines(failed.stdout)[0].error, { code: 'FILE_NOT_FOUND', message: `no file \u001b]0;pwned\u0007${DISGUISED}` });

  const names = await user.run(['__complete-names'], { env: { CLOUDSTORE_TOKEN: 'names' } });
  t.equal(names.stdout, '', 'completion offers no name the terminal would have to escape');
});
