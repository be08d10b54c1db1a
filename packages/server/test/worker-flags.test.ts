import t from 'tap';
import { computeWorkerFlags } from '../src/worker-flags.js';

t.test('a computing thread gets the Node flags of its process but those that load code first', async (t) => {
  t.same(
    computeWorkerFlags([
      '--import=file:///hooks/mock.mjs',
      '--enable-source-maps',
      '--import',
      '@opentelemetry/auto-instrumentations-node/register',
      '--cpu-prof',
      '--cpu-prof-dir',
      '/tmp/profiles',
      '-r',
      'dotenv/config',
      '--require=./preload.cjs',
      '--loader',
      './loader.mjs',
      '--experimental-loader=./old-loader.mjs',
      '--max-old-space-size=512',
    ]),
    ['--enable-source-maps', '--cpu-prof', '--cpu-prof-dir', '/tmp/profiles', '--max-old-space-size=512'],
  );
  t.same(computeWorkerFlags([]), []);
});
