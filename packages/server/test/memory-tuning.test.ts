import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';

const run = promisify(execFile);
const tuning = new URL('../src/memory-tuning.js', import.meta.url).href;

/**
 * A process that fills its old generation until V8 collects it, with `--trace-gc`; with
 * `tuned`, after tuneMemoryForTransfers(). Returns the trace's major collections.
 */
async function majorCollections(tuned: boolean): Promise<string[]> {
  const script = `
    const { tuneMemoryForTransfers } = await import(${JSON.stringify(tuning)});
    if (${tuned}) tuneMemoryForTransfers();
    let kept = [];
    for (let round = 0; round < 40; round++) {
      for (let index = 0; index < 20000; index++) kept.push({ round, index, text: 'x'.repeat(40) + index });
      if (round % 8 === 7) kept = [];
      await new Promise((resolve) => setImmediate(resolve));
    }`;
  const { stdout } = await run(process.execPath, ['--trace-gc', '--input-type=module', '--eval', script], { maxBuffer: 16 * 1024 * 1024 });
  return stdout.split('\n').filter((line) => line.includes('Mark-Compact'));
}

t.test("V8's incremental marking is off once tuned: major collections run as one pause", async (t) => {
  const [untuned, tuned] = await Promise.all([majorCollections(false), majorCollections(true)]);
  const incremental = (lines: string[]) => lines.filter((line) => line.includes('since start of marking'));
  t.ok(incremental(untuned).length > 0, 'untuned, the same load marks incrementally (the check can see it)');
  t.ok(tuned.length > 0, 'tuned, the old generation is still collected');
  t.same(incremental(tuned), [], 'tuned, no collection was marked incrementally');
});
