import { setTimeout as sleep } from 'node:timers/promises';
import { PassThrough, Readable } from 'node:stream';
import t from 'tap';
import { consumeStream } from '../../src/store/consume-stream.js';

const chunks = (count: number) => Array.from({ length: count }, (_, index) => Buffer.from(`chunk ${index};`));

t.test('every chunk in order, one at a time even when some are handled later; resolves at the end', async (t) => {
  const seen: string[] = [];
  let inside = 0;
  let most = 0;
  await consumeStream(Readable.from(chunks(50)), (chunk) => {
    seen.push(chunk.toString());
    if (seen.length % 3 !== 0) return;
    inside++;
    most = Math.max(most, inside);
    return sleep(1).then(() => void inside--);
  });
  t.same(seen, chunks(50).map(String));
  t.equal(most, 1, 'no chunk is handed over while one is still being handled');
});

t.test("the source's error, or its close before the end, rejects", async (t) => {
  const failing = new PassThrough();
  const failed = consumeStream(failing, () => {});
  failing.write('some');
  failing.destroy(new Error('socket hang up'));
  await t.rejects(failed, { message: 'socket hang up' });

  const cut = new PassThrough();
  const closed = consumeStream(cut, () => {});
  cut.write('some');
  cut.destroy();
  await t.rejects(closed, { message: 'the upload stream closed before its end' });
});

t.test('a chunk that fails leaves the rest unread, and the rejection waits for the chunk being handled', async (t) => {
  const source = new PassThrough();
  let finishedHandling = false;
  const consumed = consumeStream(source, (chunk) => {
    if (chunk.toString() === 'too much') throw new Error('too much');
    return sleep(20).then(() => void (finishedHandling = true));
  });
  source.write('first');
  await sleep(1);
  source.destroy(new Error('gone'));
  await t.rejects(consumed, { message: 'gone' });
  t.ok(finishedHandling, 'settled after the pending chunk was handled');

  const refused = new PassThrough();
  const refusing = consumeStream(refused, () => {
    throw new Error('too much');
  });
  refused.write('too much');
  await t.rejects(refusing, { message: 'too much' });
  refused.write('the rest');
  t.equal(refused.isPaused(), true, 'paused');
  t.equal(refused.destroyed, false, 'not destroyed: the answer can still go out on its connection');
  t.equal(refused.read()?.toString(), 'the rest', 'the rest stays unread');
});
