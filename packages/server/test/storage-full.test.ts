import { statfs } from 'node:fs/promises';
import t from 'tap';
import { forEachDatabase } from './helpers/build-app.js';
import { startFileServer } from './helpers/file-server.js';
import { randomContent } from './helpers/content.js';
import { assertNothingLeft, referenceProblems, storageState } from './helpers/storage-state.js';
import { mountTmpfs } from './helpers/tmpfs.js';

const MiB = 1024 * 1024;
const DISK_MiB = 32;
const FILE = 10 * MiB;

forEachDatabase(t, async (t, kind) => {
  t.test('a full disk is 507, leaves nothing behind, and uploads work again once space is freed', async (t) => {
    const disk = await mountTmpfs(t, DISK_MiB);
    if ('refused' in disk) return t.skip(disk.refused, () => {});
    const {
      server,
      db,
      drives: [alice],
    } = await startFileServer(t, kind, ['alice'], { dataDir: disk.directory });

    let stored = 0;
    let refusal = await alice.upload(`fill-${stored}.bin`, randomContent(FILE));
    while (refusal.status === 201 && stored < DISK_MiB) refusal = await alice.upload(`fill-${++stored}.bin`, randomContent(FILE));
    t.ok(stored >= 1 && stored * FILE < DISK_MiB * MiB, `${stored} files of 10 MiB fit on the ${DISK_MiB} MiB disk`);
    t.equal(refusal.status, 507, 'the next one does not');
    t.same(refusal.body, {
      statusCode: 507,
      code: 'INSUFFICIENT_STORAGE',
      error: 'Insufficient Storage',
      message: 'the server is out of storage space',
    });

    const full = await storageState(server, db);
    t.same(full.temporary, [], 'no temporary file is left');
    t.equal(full.blobs.length, stored, 'no partial blob');
    const multipart = await alice.uploadForm('form.bin', randomContent(FILE));
    t.same([multipart.status, multipart.body.code], [507, 'INSUFFICIENT_STORAGE'], 'multipart too');
    await assertNothingLeft(t, server, db, full, 'a 507');
    t.match(
      (await alice.me()).body,
      { username: 'alice', files: stored, bytes: stored * FILE, stored_bytes: stored * FILE },
      'the account counts only what was stored',
    );

    // Uploads that fill the last bytes: the database (SQLite lives on this disk too) needs room as well.
    for (const margin of [256 * 1024, 16 * 1024, 0]) {
      const { bavail, bsize } = await statfs(disk.directory);
      const reply = await alice.upload(`edge-${margin}.bin`, randomContent(Math.max(0, bavail * bsize - margin)));
      t.ok([201, 507].includes(reply.status), `free space minus ${margin} bytes: ${reply.status} ${reply.body.code ?? ''}`);
      t.same(await referenceProblems(server, db), [], 'every file has its bytes, no bytes without a file');
      t.same((await storageState(server, db)).temporary, []);
    }

    t.equal((await alice.delete('fill-0.bin')).status, 200);
    const again = await alice.upload('after.bin', randomContent(FILE));
    t.equal(again.status, 201, 'once space is freed, an upload works again');
    t.equal((await alice.download('after.bin')).raw.length, FILE);
  });
});
