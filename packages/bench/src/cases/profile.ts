import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BenchContext } from '../bench-context.js';
import { formatSize, MiB } from '../plan.js';
import type { ProfileSummary } from '../results.js';
import { hammer } from '../autocannon-run.js';
import { CloudStore } from '../servers/cloudstore.js';
import { prefault, testFile } from '../test-files.js';

/**
 * Where the server spends its time: `node --cpu-prof` on a fresh server (embedded database),
 * one big raw upload, downloads of it, then small authenticated downloads; the functions with the most self time in each
 * phase, every thread's profile apart (a worker's hashing shows as its own). The phases are
 * cut by time: V8 stamps samples with the monotonic clock that process.hrtime reads too.
 */

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A phase, in microseconds of the monotonic clock. */
interface Window {
  label: string;
  from: number;
  to: number;
}

const TOP = 12;
const nowMicros = () => Number(process.hrtime.bigint() / 1000n);

export function summarizeProfile(title: string, profile: CpuProfile, window: Window | null): ProfileSummary {
  const frameOf = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const selfMicroseconds = new Map<string, { name: string; where: string; micros: number }>();
  let total = 0;
  let time = profile.startTime;
  profile.samples.forEach((nodeId, index) => {
    time += profile.timeDeltas[index] ?? 0;
    if (window && (time < window.from || time > window.to)) return;
    // timeDeltas[i] is the time before sample i: the next delta is the time sample i stood for.
    const micros = profile.timeDeltas[index + 1] ?? 0;
    const frame = frameOf.get(nodeId);
    if (!frame) return;
    total += micros;
    const file = frame.url === '' ? '' : frame.url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, '');
    const where = file === '' ? '(native)' : `${file.replace(/.*\/packages\//, 'packages/')}:${frame.lineNumber + 1}`;
    const name = frame.functionName || '(anonymous)';
    const key = `${name}@${where}`;
    const entry = selfMicroseconds.get(key) ?? { name, where, micros: 0 };
    entry.micros += micros;
    selfMicroseconds.set(key, entry);
  });
  const top = [...selfMicroseconds.values()]
    .sort((a, b) => b.micros - a.micros)
    .slice(0, TOP)
    .map((entry) => ({ name: entry.name, where: entry.where, selfMs: entry.micros / 1000, share: total > 0 ? entry.micros / total : 0 }));
  return { title, totalMs: total / 1000, top };
}

export async function runProfile(context: BenchContext): Promise<void> {
  const file = await testFile('payload', context.plan.bigSize);
  await prefault(file);
  context.progress(`profile: raw upload and download of ${formatSize(file.size)}`);
  const directory = path.join(context.runDirectory, 'profile');
  await mkdir(directory, { recursive: true });
  const store = await CloudStore.start({
    runDirectory: context.runDirectory,
    database: 'sqlite',
    instance: 'profile',
    nodeArguments: ['--cpu-prof', '--cpu-prof-dir', directory],
  });
  const windows: Window[] = [];
  const phase = async (label: string, action: () => Promise<unknown>) => {
    const from = nowMicros();
    await action();
    windows.push({ label, from, to: nowMicros() });
  };
  try {
    const warmup = await testFile('payload', Math.min(MiB, file.size));
    await store.rawUpload(warmup, 'warmup');
    await store.download('warmup', '/dev/null');
    await phase(`raw upload, ${formatSize(file.size)}`, () => store.rawUpload(file, 'profiled'));
    await phase(`download, ${formatSize(file.size)} (twice)`, async () => {
      for (let round = 0; round < 2; round++) await store.download('profiled', '/dev/null');
    });
    const small = await testFile('small', context.plan.smallRequests.fileSize);
    await store.rawUpload(small, 'small-profiled');
    await phase(`authenticated ${formatSize(small.size)} downloads (autocannon)`, () =>
      hammer(store.fileUrl('small-profiled'), store.authorization, context.plan.smallRequests),
    );
  } finally {
    // The profile is written as the process exits.
    await store.stop();
  }
  const profiles = (await readdir(directory)).filter((name) => name.endsWith('.cpuprofile')).sort();
  if (profiles.length === 0) {
    context.results.note('The CPU profile was not written (the server did not exit cleanly).');
    return;
  }
  for (const name of profiles) {
    const profile = JSON.parse(await readFile(path.join(directory, name), 'utf8')) as CpuProfile;
    // Node names each thread's file CPU.<date>.<time>.<pid>.<thread id>.<sequence>.cpuprofile; thread 0 is the main one.
    const threadId = name.split('.')[4];
    const thread = profiles.length > 1 ? (threadId === '0' ? ' — main thread' : ` — worker thread ${threadId}`) : '';
    for (const window of windows) {
      const summary = summarizeProfile(`${window.label}${thread}`, profile, window);
      const [busiest] = summary.top;
      // A worker with nothing to do in a phase is one line, not a table.
      if (busiest?.name === '(idle)' && busiest.share > 0.99) context.results.note(`Profile: ${summary.title} was idle throughout.`);
      else if (summary.totalMs > 0) context.results.profiles.push(summary);
    }
  }
}
