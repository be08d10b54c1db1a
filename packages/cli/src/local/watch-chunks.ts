import { Transform } from 'node:stream';
import { noteStreamed } from '../memory.js';

/** A pass-through stream that shows every chunk to `observe` (to hash it, to count it) on its way. */
export function watchChunks(observe: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      observe(chunk);
      noteStreamed(chunk.length);
      done(null, chunk);
    },
  });
}
