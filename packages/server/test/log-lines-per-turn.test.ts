import { Writable } from 'node:stream';
import t from 'tap';
import { LinesPerTurn } from '../src/log-lines-per-turn.js';

/** An output that records each write it is given. */
function recordingOutput() {
  const writes: string[] = [];
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writes.push(chunk.toString());
      callback();
    },
  });
  return { output, writes };
}

const turnEnd = () => new Promise((resolve) => setImmediate(resolve));

t.test('the lines of one turn are written together when it ends, each turn its own write', async (t) => {
  const { output, writes } = recordingOutput();
  const lines = new LinesPerTurn(output);
  lines.write('a\n');
  lines.write('b\n');
  lines.write('c\n');
  t.same(writes, [], 'nothing is written before the turn ends');
  await turnEnd();
  t.same(writes, ['a\nb\nc\n']);
  lines.write('d\n');
  await turnEnd();
  t.same(writes, ['a\nb\nc\n', 'd\n'], 'a later line is not held for more to come');
  await turnEnd();
  t.equal(writes.length, 2, 'an empty turn writes nothing');
});

t.test('flush writes what is pending at once, and calls back', async (t) => {
  const { output, writes } = recordingOutput();
  const lines = new LinesPerTurn(output);
  lines.write('last words\n');
  let called = false;
  lines.flush(() => (called = true));
  t.same(writes, ['last words\n']);
  t.ok(called);
  await turnEnd();
  t.equal(writes.length, 1, 'nothing is written twice');
});

t.test('an output that fails (its reader gone) ends the logging without throwing', async (t) => {
  const { output, writes } = recordingOutput();
  const lines = new LinesPerTurn(output);
  lines.write('before\n');
  await turnEnd();
  output.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
  lines.write('after\n');
  await turnEnd();
  t.same(writes, ['before\n']);
});
