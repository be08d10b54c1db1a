import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { forEachDatabase, restartServer, startServer } from './helpers/build-app.js';
import { Client } from './helpers/client.js';
import { blobsOnDisk, randomContent, sha256Hex } from './helpers/content.js';
import { Drive } from './helpers/drive.js';
import { openServerDatabase, referenceProblems } from './helpers/storage-state.js';
import { sleep } from './helpers/waiting.js';

forEachDatabase(t, async (t, kind) => {
  t.test('bytes that a crash left unrecorded are gone once the server is back, and nothing else', async (t) => {
    const server = await startServer(t, kind);
    const db = await openServerDatabase(t, server);
    const alice = await Drive.register(new Client(server.url), 'alice');
    const kept = randomContent(5000);
    t.equal((await alice.upload('kept.bin', kept)).status, 201);
    // As a crash between publishing and committing leaves it: under its digest, with no row.
    const orphan = randomContent(7000);
    const digest = sha256Hex(orphan);
    const directory = path.join(server.dataDir, 'blobs', digest.slice(0, 2), digest.slice(2, 4));
    await mkdir(directory, { recursive: true });
    await writeFile(path.join(directory, digest), orphan);
    t.ok((await blobsOnDisk(server.dataDir)).includes(digest), 'planted');

    await server.app.close();
    const restarted = await restartServer(t, server);
    t.same(await blobsOnDisk(server.dataDir), [sha256Hex(kept)], 'only the recorded blob is left, before the server listens');
    t.same(await referenceProblems(restarted, db), []);
    const download = await new Drive(new Client(restarted.url), alice.token).download('kept.bin');
    t.equal(download.status, 200);
    t.ok(download.raw.equals(kept), 'recorded content is untouched');
    const reupload = await new Drive(new Client(restarted.url), alice.token).upload('orphan.bin', orphan);
    t.equal(reupload.status, 201, 'the same content can be stored again');
    t.same(await referenceProblems(restarted, db), []);
  });

  t.test('expired sessions are deleted, live ones kept', async (t) => {
    const server = await startServer(t, kind, { tokenTtlSeconds: 1 });
    const db = await openServerDatabase(t, server);
    const client = new Client(server.url);
    const token = await client.user('bob');
    const [{ id: userId }] = await db('users').where('username_key', 'bob').select('id');
    await db('sessions').insert({ token_id: 'live-session', user_id: userId, expires_at: Date.now() + 3600_000 });
    t.equal(Number((await db('sessions').count({ count: '*' }).first())?.count), 2);
    await sleep(1500);
    t.equal((await new Drive(client, token).me()).status, 401, 'the expired token is refused');
    t.equal(Number((await db('sessions').count({ count: '*' }).first())?.count), 2, 'refused, yet its row is still there');

    await server.app.close();
    await restartServer(t, server);
    t.same(await db('sessions').pluck('token_id'), ['live-session'], 'the sweep removed the expired session only');
  });
});
