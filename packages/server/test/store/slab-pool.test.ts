import t from 'tap';
import { SLAB_BYTES, SlabPool } from '../../src/store/slab-pool.js';
import { randomContent } from '../helpers/content.js';

t.test('upload slabs start on a page boundary; a pool that only counts has no memory to align', async (t) => {
  t.equal(new SlabPool(4).isPageAligned, true);
  t.equal(new SlabPool(4, 0).isPageAligned, false);
});

t.test('copyIn puts the bytes at their place in the slab, and nothing around them', async (t) => {
  const slabs = new SlabPool(3);
  slabs.buffer.fill(0xaa);
  const content = randomContent(1000);
  slabs.copyIn(1, 7, content.subarray(3, 1000));
  slabs.copyIn(1, 0, content.subarray(0, 0));
  const slab = slabs.buffer.subarray(slabs.offsetOf(1), slabs.offsetOf(1) + SLAB_BYTES);
  t.ok(slab.subarray(7, 7 + 997).equals(content.subarray(3, 1000)), 'the bytes, at offset 7 of slab 1');
  t.ok(
    slab.subarray(0, 7).every((byte) => byte === 0xaa),
    'before them untouched',
  );
  t.ok(
    slab.subarray(7 + 997).every((byte) => byte === 0xaa),
    'after them untouched (no repeat of the source)',
  );
  t.ok(
    slabs.buffer.subarray(0, SLAB_BYTES).every((byte) => byte === 0xaa),
    'the slab before untouched',
  );
});
