import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import t, { type Test } from 'tap';
import { FsBlobStore } from '../../src/store/fs-store.js';
import { filesBelow, randomContent, sha256Hex } from '../helpers/content.js';
import { mountTmpfs } from '../helpers/tmpfs.js';
import { blobStoreContract } from './blob-store.contract.js';

const MiB = 1024 * 1024;

async function createFsStore(t: Test, root?: string): Promise<{ store: FsBlobStore; root: string }> {
  if (root === undefined) {
    root = await mkdtemp(path.join(tmpdir(), 'cloudstore-fs-store-'));
    const created = root;
    t.teardown(() => rm(created, { recursive: true, force: true }));
  }
  const store = new FsBlobStore(root);
  t.teardown(() => store.close());
  await store.init();
  return { store, root };
}

const temporaryFiles = (root: string) => filesBelow(path.join(root, 'tmp'));

t.test('the blob-store contract', async (t) => {
  blobStoreContract(t, async (t) => (await createFsStore(t)).store);
});

t.test('a blob lives at blobs/<2 hex>/<2 hex>/<sha256>, readable by the server only', async (t) => {
  const { store, root } = await createFsStore(t);
  const content = randomContent(5000);
  const staged = await store.write(Readable.from([content]), { maxBytes: MiB });
  const temporary = await temporaryFiles(root);
  t.equal(temporary.length, 1, 'staged in tmp/');
  t.match(temporary[0], new RegExp(`^${process.pid}-[0-9a-f]+\\.part$`), 'named after this process');
  await staged.publish();
  const sha256 = sha256Hex(content);
  const expected = path.join('blobs', sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  t.same(await filesBelow(root), [expected], 'the only file is the blob at its fanned-out path');
  t.equal((await stat(path.join(root, expected))).mode & 0o077, 0, 'no access for group or others');
  t.equal(store.pathOf(sha256), path.join(root, expected));
});

/** What copyTo writes of `sha256`'s bytes from `start` to `end`. */
async function copied(store: FsBlobStore, sha256: string, start: number, end: number): Promise<Buffer> {
  const received: Buffer[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      received.push(Buffer.from(chunk));
      done();
    },
  });
  await store.copyTo(sha256, { start, end }, destination);
  return Buffer.concat(received);
}

t.test('a small blob read whole and checked is served from memory, never damaged bytes', async (t) => {
  const { store } = await createFsStore(t);
  const content = randomContent(4096);
  const staged = await store.write(Readable.from([content]), { maxBytes: MiB });
  await staged.publish();
  const sha256 = sha256Hex(content);
  const blob = store.pathOf(sha256);

  const damaged = Buffer.from(content);
  damaged[100] ^= 1;
  await writeFile(blob, damaged);
  t.ok((await copied(store, sha256, 0, 4095)).equals(damaged), 'damaged bytes are served as read (the scrub judges them)');
  await writeFile(blob, content);
  t.ok((await copied(store, sha256, 0, 4095)).equals(content), 'and were not kept: the mended blob is read again');
  t.ok((await copied(store, sha256, 10, 19)).equals(content.subarray(10, 20)), 'a range of a blob read whole');

  await rm(blob);
  t.ok((await copied(store, sha256, 0, 4095)).equals(content), 'the checked bytes are kept: the file is not opened again');
  t.ok((await copied(store, sha256, 4000, 4095)).equals(content.subarray(4000)), 'every range of them');
  await store.delete(sha256);
  await t.rejects(copied(store, sha256, 0, 4095), { code: 'ENOENT' }, 'a deleted blob is forgotten');
});

/**
 * Records the store's fsyncs and renames in order (a spy on node:fs; the only way to see an
 * fsync happen). Every path is relative to `root`.
 */
function recordDiskCalls(t: Test, root: string, handle: FileHandle): string[] {
  const calls: string[] = [];
  const opened = new WeakMap<FileHandle, string>();
  const relative = (target: unknown) => path.relative(root, String(target)) || '.';
  const promises = fs.promises;
  const original = { open: promises.open, rename: promises.rename };
  const prototype = Object.getPrototypeOf(handle) as FileHandle;
  const originalSync = prototype.sync;
  promises.open = (async (target: fs.PathLike, ...rest: unknown[]) => {
    const opening = await (original.open as (...args: unknown[]) => Promise<FileHandle>)(target, ...rest);
    opened.set(opening, relative(target));
    return opening;
  }) as typeof promises.open;
  promises.rename = async (from: fs.PathLike, to: fs.PathLike) => {
    calls.push(`rename ${relative(from)} -> ${relative(to)}`);
    return original.rename(from, to);
  };
  prototype.sync = async function (this: FileHandle) {
    calls.push(`fsync ${opened.get(this) ?? '?'}`);
    return originalSync.call(this);
  };
  syncBuiltinESMExports();
  t.teardown(() => {
    Object.assign(promises, original);
    prototype.sync = originalSync;
    syncBuiltinESMExports();
  });
  return calls;
}

t.test('the bytes are fsynced before the rename, and every changed directory after it', async (t) => {
  const { store, root } = await createFsStore(t);
  const probe = await fs.promises.open(path.join(root, 'probe'), 'w');
  await probe.close();
  await rm(path.join(root, 'probe'));
  const calls = recordDiskCalls(t, root, probe);
  const content = randomContent(2 * MiB);
  const staged = await store.write(Readable.from([content]), { maxBytes: 4 * MiB });
  await staged.publish();
  const sha256 = staged.sha256;
  const [temporary] = calls[0].match(/tmp\/\S+\.part/) ?? [];
  const fanOut = path.join('blobs', sha256.slice(0, 2));
  const target = path.join(fanOut, sha256.slice(2, 4));
  t.same(
    calls,
    [`fsync ${temporary}`, `rename ${temporary} -> ${path.join(target, sha256)}`, 'fsync blobs', `fsync ${fanOut}`, `fsync ${target}`],
    'new directories are made durable too',
  );

  calls.length = 0;
  const again = await store.write(Readable.from([content]), { maxBytes: 4 * MiB });
  await again.publish();
  t.same(
    calls.slice(1),
    [`rename ${calls[0].slice('fsync '.length)} -> ${path.join(target, sha256)}`, `fsync ${target}`],
    'existing directories: only the one renamed into',
  );
});

t.test('sweepTemporary removes what dead processes left, not what live ones write', async (t) => {
  const { store, root } = await createFsStore(t);
  const exited = spawn(process.execPath, ['-e', '']);
  await once(exited, 'exit');
  const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
  t.teardown(() => live.kill());
  const deadFile = `${exited.pid}-0123456789abcdef.part`;
  const liveFile = `${live.pid}-0123456789abcdef.part`;
  // This process's own pid on a file no write of ours is making: a crashed predecessor that had the same pid.
  const reusedPidFile = `${process.pid}-fedcba9876543210.part`;
  const stray = 'not-a-temporary-file';
  for (const name of [deadFile, liveFile, reusedPidFile, stray]) await writeFile(path.join(root, 'tmp', name), 'partial');
  t.equal(await store.sweepTemporary(), 3);
  t.same(await temporaryFiles(root), [liveFile], "only the live process's file stays");
});

t.test('a write that is refused, fails or is aborted leaves no temporary file', async (t) => {
  const { store, root } = await createFsStore(t);
  const oversized = store.write(Readable.from([randomContent(MiB), randomContent(MiB)]), { maxBytes: MiB + 1 });
  await t.rejects(oversized, { code: 'PAYLOAD_TOO_LARGE' });
  t.same(await temporaryFiles(root), [], 'oversized');

  const failing = new Readable({ read() {} });
  failing.push(randomContent(MiB));
  const writing = store.write(failing, { maxBytes: 4 * MiB });
  setTimeout(() => failing.destroy(new Error('socket hang up')), 20);
  await t.rejects(writing, { message: 'socket hang up' });
  t.same(await temporaryFiles(root), [], 'the source failed');

  const aborted = new Readable({ read() {} });
  aborted.push(randomContent(MiB));
  const abortedWrite = store.write(aborted, { maxBytes: 4 * MiB });
  setTimeout(() => aborted.destroy(), 20);
  await t.rejects(abortedWrite);
  t.same(await temporaryFiles(root), [], 'the source was destroyed');
});

t.test('a disk that fills up fails the write with ENOSPC and leaves no temporary file', async (t) => {
  const mounted = await mountTmpfs(t, 2);
  if ('refused' in mounted) return t.skip(mounted.refused, () => {});
  const { store, root } = await createFsStore(t, mounted.directory);
  await t.rejects(store.write(Readable.from([randomContent(3 * MiB)]), { maxBytes: 4 * MiB }), { code: 'ENOSPC' });
  t.same(await temporaryFiles(root), []);
  const fits = await store.write(Readable.from([randomContent(MiB)]), { maxBytes: 4 * MiB });
  await fits.publish();
  t.same(await store.stat(fits.sha256), { size: MiB }, 'once the space is back, writes work');
});
