import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { hashRange } from '../src/local/hash-range.js';

// A resumed download's prefix and a proof's ranges both go through hashRange: what it adds to the
// hash, and what it reports when the file ends first (each caller judges that for itself).

t.test('a range is hashed through a buffer smaller than it; a range the file cuts short says how much there was', async (t) => {
  const directory = await mkdtemp(join(tmpdir(), 'cloudstore-hash-range-'));
  t.teardown(() => rm(directory, { recursive: true, force: true }));
  const bytes = randomBytes(10_000);
  const path = join(directory, 'photo.jpg');
  await writeFile(path, bytes);
  const file = await open(path, 'r');
  t.teardown(() => file.close());
  const buffer = Buffer.alloc(3000);
  const cases: [start: number, length: number, expected: Buffer][] = [
    [0, 10_000, bytes],
    [1234, 5000, bytes.subarray(1234, 6234)],
    [9000, 4000, bytes.subarray(9000)],
    [12_000, 100, Buffer.alloc(0)],
    [500, 0, Buffer.alloc(0)],
  ];
  for (const [start, length, expected] of cases) {
    const hash = createHash('sha256');
    t.equal(await hashRange(file, hash, buffer, start, length), expected.length, `${length} bytes from ${start}: the count`);
    t.equal(hash.digest('hex'), createHash('sha256').update(expected).digest('hex'), `${length} bytes from ${start}: the digest`);
  }
});
