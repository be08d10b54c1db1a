import t from 'tap';
import { once } from 'node:events';
import { computeWorkerFlags, startComputingWorker } from '../src/worker-flags.js';

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

t.test("a computing thread starts where the process has V8's flags, which a worker's list may not hold", async (t) => {
  const script = new URL(
    'data:text/javascript,import { parentPort } from "node:worker_threads"; parentPort.postMessage(process.execArgv);',
  );
  const worker = startComputingWorker(script, [
    '--max-old-space-size=512',
    '--enable-source-maps',
    '--import=data:text/javascript,',
    '--stack-trace-limit=20',
  ]);
  t.teardown(() => worker.terminate());
  const [execArgv] = (await once(worker, 'message')) as [string[]];
  t.same(execArgv, ['--enable-source-maps'], "Node's own flags reach the thread; V8's are the process's already, the loaders are left out");
});
