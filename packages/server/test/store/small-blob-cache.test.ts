import t from 'tap';
import { SmallBlobCache } from '../../src/store/small-blob-cache.js';

const bytes = (length: number, fill: number) => Buffer.alloc(length, fill);

t.test('a kept blob answers every range inside it, and nothing beyond', async (t) => {
  const cache = new SmallBlobCache(1024);
  cache.set('a', Buffer.from('0123456789'));
  t.equal(cache.get('a', 0, 10)?.toString(), '0123456789');
  t.equal(cache.get('a', 3, 4)?.toString(), '3456');
  t.equal(cache.get('a', 5, 6), undefined, 'a range past the end is not answered');
  t.equal(cache.get('b', 0, 1), undefined);
});

t.test('the least recently used go first once the bytes exceed the capacity', async (t) => {
  const cache = new SmallBlobCache(300);
  cache.set('a', bytes(100, 1));
  cache.set('b', bytes(100, 2));
  cache.set('c', bytes(100, 3));
  t.ok(cache.get('a', 0, 1), 'a read makes "a" the most recent');
  cache.set('d', bytes(100, 4));
  t.equal(cache.get('b', 0, 1), undefined, '"b", the least recently used, went');
  t.ok(cache.get('a', 0, 1) && cache.get('c', 0, 1) && cache.get('d', 0, 1), 'the others stay');
  t.equal(cache.size, 300);
  cache.set('big', bytes(301, 5));
  t.equal(cache.get('big', 0, 1), undefined, 'a blob larger than the whole cache is not kept');
  t.equal(cache.size, 300, 'and pushes nothing out');
  cache.delete('a');
  t.equal(cache.get('a', 0, 1), undefined);
  t.equal(cache.size, 200);
});
