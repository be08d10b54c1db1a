import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { CliUser, jsonLines } from './helpers/cli.js';
import { sha256 } from './helpers/files.js';
import { databaseEnv, startServer, type DatabaseKind } from './helpers/server.js';

const digest = (text: string) => sha256(Buffer.from(text));
const line = (status: string, text: string | null, label: string) =>
  `${status.padEnd(17)}  ${text === null ? '-'.padEnd(64) : digest(text)}  ${label}\n`;

/** Flips one byte of the server's stored copy of `text`, as a failing disk would. */
async function corruptStoredCopy(dataDir: string, text: string): Promise<void> {
  const hex = digest(text);
  const file = await open(join(dataDir, 'blobs', hex.slice(0, 2), hex.slice(2, 4), hex), 'r+');
  try {
    await file.write(Buffer.from('#'), 0, 1, 3);
  } finally {
    await file.close();
  }
}

// verify reads the listing and the quarantine that the database keeps: it runs against both.
for (const kind of ['sqlite', 'mysql'] as DatabaseKind[]) {
  t.test(kind, async (t) => {
    const env = await databaseEnv(t, kind);
    // No background scrub: the test decides when the server learns of the damage.
    const server = await startServer(t, { ...env, SCRUB_BYTES_PER_SECOND: '0' });
    const [alice, bob] = await CliUser.registeredAll(t, server.url, 'alice', 'bob');
    const texts = { 'a.txt': 'alpha\n'.repeat(50), 'b.txt': 'bravo\n'.repeat(50), 'c.txt': 'charlie\n'.repeat(50) };
    for (const [name, text] of Object.entries(texts)) await alice.upload(name, text);

    t.test('names and --all: the digest the server recorded, one line each', async (t) => {
      const named = await alice.run(['verify', 'a.txt', 'b.txt']);
      t.equal(named.code, 0, named.stderr);
      t.equal(named.stdout, line('ok', texts['a.txt'], 'a.txt') + line('ok', texts['b.txt'], 'b.txt'));
      const all = await alice.run(['verify', '--all', '--json']);
      t.equal(all.code, 0, all.stderr);
      t.same(
        jsonLines(all.stdout),
        Object.entries(texts).map(([filename, text]) => ({
          filename,
          owner: 'alice',
          sha256: digest(text),
          size: text.length,
          status: 'ok',
        })),
      );
      const missing = await alice.run(['verify', 'a.txt', 'nothing.txt']);
      t.equal(missing.code, 7, 'exit 7 when a file is missing');
      t.equal(missing.stdout, line('ok', texts['a.txt'], 'a.txt') + line('missing on server', null, 'nothing.txt'));
      t.equal((await alice.run(['verify'])).code, 2, 'nothing to verify is wrong usage');
      t.equal((await alice.run(['verify', 'a.txt', '--all'])).code, 2);
      t.equal((await bob.run(['verify', 'a.txt'])).code, 7, "bob cannot see alice's file: missing for him");
    });

    t.test('--local: each local file against the file of its name on the server', async (t) => {
      const folder = join(alice.home, 'backup');
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, 'a.txt'), texts['a.txt']);
      await writeFile(join(folder, 'b.txt'), 'bravo, edited\n');
      await writeFile(join(folder, 'd.txt'), 'only here\n');
      const result = await alice.run(['verify', '--local', 'backup']);
      t.equal(result.code, 7, 'exit 7: something differs');
      t.equal(
        result.stdout,
        line('ok', texts['a.txt'], 'backup/a.txt') +
          line('changed locally', texts['b.txt'], 'backup/b.txt') +
          line('missing on server', null, 'backup/d.txt'),
      );
      const everything = await alice.run(['verify', '--local', '--all', 'backup', '--json']);
      t.equal(everything.code, 7);
      t.same(jsonLines(everything.stdout), [
        {
          filename: 'a.txt',
          owner: 'alice',
          sha256: digest(texts['a.txt']),
          size: 300,
          status: 'ok',
          path: 'backup/a.txt',
          local_sha256: digest(texts['a.txt']),
        },
        {
          filename: 'b.txt',
          owner: 'alice',
          sha256: digest(texts['b.txt']),
          size: 300,
          status: 'changed',
          path: 'backup/b.txt',
          local_sha256: digest('bravo, edited\n'),
        },
        { filename: 'd.txt', status: 'missing_on_server', path: 'backup/d.txt', local_sha256: digest('only here\n') },
        { filename: 'c.txt', owner: 'alice', sha256: digest(texts['c.txt']), size: texts['c.txt'].length, status: 'missing_locally' },
      ]);
      const gone = await alice.run(['verify', '--local', 'backup/a.txt', 'backup/nothere.txt']);
      t.equal(gone.code, 7);
      t.equal(gone.stdout, line('ok', texts['a.txt'], 'backup/a.txt') + line('missing locally', null, 'backup/nothere.txt'));
    });

    t.test('--read-data finds damaged content; ls and get show it; a put of the same bytes heals it', async (t) => {
      await corruptStoredCopy(env.DATA_DIR, texts['c.txt']);
      t.equal((await alice.run(['verify', 'c.txt'])).code, 0, 'the server does not know yet');
      const reread = await alice.run(['verify', '--read-data', 'a.txt', 'c.txt']);
      t.equal(reread.code, 7, reread.stderr);
      t.equal(reread.stdout, line('ok', texts['a.txt'], 'a.txt') + line('damaged on server', texts['c.txt'], 'c.txt'));
      const json = await alice.run(['verify', 'c.txt', '--json']);
      t.same(jsonLines(json.stdout), [
        { filename: 'c.txt', owner: 'alice', sha256: digest(texts['c.txt']), size: texts['c.txt'].length, status: 'damaged' },
      ]);
      t.match((await alice.run(['ls'])).stdout, / {2}c\.txt {2}\[damaged on server\]\n/);
      t.match(jsonLines((await alice.run(['ls', '--json'])).stdout), [
        { filename: 'a.txt', damaged: false },
        {},
        { filename: 'c.txt', damaged: true },
      ]);
      const get = await alice.run(['get', 'c.txt', '-o', '-']);
      t.equal(get.code, 7, 'get of damaged content is an integrity failure');
      t.match(get.stderr, /CONTENT_DAMAGED/);
      t.equal(get.stdout, '', 'no byte written');
      const healed = await alice.run(['put', 'c.txt']);
      t.equal(healed.code, 0, healed.stderr);
      const after = await alice.run(['verify', '--read-data', 'c.txt']);
      t.equal(after.code, 0, after.stderr);
      t.equal(after.stdout, line('ok', texts['c.txt'], 'c.txt'));
    });
  });
}
