import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { HashPool } from '../../src/store/hash-pool.js';
import { SlabPool } from '../../src/store/slab-pool.js';
import { FILL_WINDOW_MS, WRITE_BLOCK_BYTES, writeThroughSlabs } from '../../src/store/slab-writer.js';
import { randomContent } from '../helpers/content.js';
import { eventually } from '../helpers/waiting.js';

t.test('a client that pauses mid-slab: the slab goes out in whole blocks, every write starts on a block', async (t) => {
  const slabs = new SlabPool(8);
  const hashing = new HashPool(1, slabs.memory);
  t.teardown(() => hashing.close());
  const writes: { position: number; length: number }[] = [];
  const stored = Buffer.alloc(3 * 1024 * 1024);
  const sink = {
    async write(buffer: Buffer, offset: number, length: number, position: number) {
      writes.push({ position, length });
      buffer.copy(stored, position, offset, offset + length);
    },
  };
  const content = randomContent(2 * 1024 * 1024 + 12345);
  const source = new PassThrough();
  const writing = writeThroughSlabs(source, sink, slabs, hashing, content.length);
  source.write(content.subarray(0, 5000));
  await sleep(FILL_WINDOW_MS * 2);
  t.same(writes, [{ position: 0, length: WRITE_BLOCK_BYTES }], 'after a quiet while, the whole block went out; the rest waits');
  // Once hashed too (a hashing thread's first message waits for the thread to start).
  t.ok(await eventually(async () => slabs.freeCount === slabs.count), 'and the slab is back in the pool');
  source.write(content.subarray(5000, 7000));
  await sleep(FILL_WINDOW_MS * 2);
  source.end(content.subarray(7000));
  const { sha256, size } = await writing;

  t.equal(size, content.length);
  t.equal(sha256, createHash('sha256').update(content).digest('hex'), 'the hash covers every byte once, in order');
  t.ok(stored.subarray(0, content.length).equals(content), 'every byte stored in place');
  t.ok(
    writes.slice(0, -1).every(({ position, length }) => position % WRITE_BLOCK_BYTES === 0 && length % WRITE_BLOCK_BYTES === 0),
    'all writes but the last are whole blocks at block positions',
  );
  t.equal(slabs.freeCount, slabs.count, 'every slab given back');
});
