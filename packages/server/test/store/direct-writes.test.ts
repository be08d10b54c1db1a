import { constants } from 'node:fs';
import { mkdtemp, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { directSink } from '../../src/store/direct-writes.js';
import { SLAB_BYTES, SlabPool } from '../../src/store/slab-pool.js';
import { randomContent } from '../helpers/content.js';

/** A new file in a directory of its own, its buffered handle counting the writes that reach it. */
async function target(t: Test): Promise<{ file: string; handle: FileHandle; buffered: number[] }> {
  const directory = await mkdtemp(path.join(tmpdir(), 'cloudstore-direct-'));
  t.teardown(() => rm(directory, { recursive: true, force: true }));
  const file = path.join(directory, 'upload.part');
  const handle = await open(file, 'wx', 0o600);
  t.teardown(() => handle.close());
  const buffered: number[] = [];
  const write = handle.write.bind(handle) as (buffer: Buffer, offset: number, length: number, position: number) => Promise<unknown>;
  handle.write = ((buffer: Buffer, offset: number, length: number, position: number) => {
    buffered.push(position);
    return write(buffer, offset, length, position);
  }) as FileHandle['write'];
  return { file, handle, buffered };
}

/** Whether the file system under the temp directory takes O_DIRECT at all (tmpfs before Linux 6.6 does not). */
async function takesDirectWrites(): Promise<boolean> {
  const directory = await mkdtemp(path.join(tmpdir(), 'cloudstore-direct-probe-'));
  try {
    await (await open(path.join(directory, 'probe'), constants.O_CREAT | constants.O_WRONLY | constants.O_DIRECT)).close();
    return true;
  } catch {
    return false;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** Two whole slabs, then a short one, as an upload of 2 MiB + 1000 bytes sends them. */
async function writeUpload(slabs: SlabPool, sink: { write: (b: Buffer, o: number, l: number, p: number) => Promise<unknown> }) {
  const content = randomContent(2 * SLAB_BYTES + 1000);
  content.copy(slabs.buffer, slabs.offsetOf(0), 0, SLAB_BYTES);
  content.copy(slabs.buffer, slabs.offsetOf(1), SLAB_BYTES, 2 * SLAB_BYTES);
  content.copy(slabs.buffer, slabs.offsetOf(2), 2 * SLAB_BYTES);
  await Promise.all([
    sink.write(slabs.buffer, slabs.offsetOf(0), SLAB_BYTES, 0),
    sink.write(slabs.buffer, slabs.offsetOf(1), SLAB_BYTES, SLAB_BYTES),
    sink.write(slabs.buffer, slabs.offsetOf(2), 1000, 2 * SLAB_BYTES),
  ]);
  return content;
}

t.test('whole slabs go to the disk with O_DIRECT, the short last one through the page cache', async (t) => {
  if (!(await takesDirectWrites())) return t.skip('the temp directory does not take O_DIRECT', () => {});
  const slabs = new SlabPool(4);
  const { file, handle, buffered } = await target(t);
  const sink = await directSink(file, handle, slabs.isPageAligned);
  const content = await writeUpload(slabs, sink);
  await sink.close();
  t.same(buffered, [2 * SLAB_BYTES], 'only the short slab went through the buffered handle');
  t.ok((await readFile(file)).equals(content), 'the file holds every byte in place');
});

t.test('memory off a page boundary: every write through the page cache', async (t) => {
  const slabs = new SlabPool(4);
  const { file, handle, buffered } = await target(t);
  const sink = await directSink(file, handle, false);
  const content = await writeUpload(slabs, sink);
  await sink.close();
  t.same(
    buffered.sort((a, b) => a - b),
    [0, SLAB_BYTES, 2 * SLAB_BYTES],
  );
  t.ok((await readFile(file)).equals(content));
});
