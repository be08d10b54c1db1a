import { readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';
import { allProcessCpu, parentPid, processName } from './proc-stats.js';

/** The machine a run measured, and what else ran on it meanwhile: absolutes mean nothing without both. */

export interface MachineDescription {
  cpu: string;
  cores: number;
  cpuFlags: string;
  memory: string;
  disk: string;
  node: string;
  kernel: string;
  date: string;
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export function describeMachine(directory: string, device: string | null): MachineDescription {
  const cpuinfo = read('/proc/cpuinfo');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  const flags = /^flags\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].split(' ') ?? [];
  const relevant = ['sha_ni', 'aes', 'avx2', 'avx512f'].filter((flag) => flags.includes(flag));
  const memoryKiB = Number(/^MemTotal:\s+(\d+)/m.exec(read('/proc/meminfo'))?.[1] ?? 0);
  let disk = 'unknown';
  if (device !== null) {
    const base = device.replace(/p?\d+$/, '');
    const rotational = read(`/sys/block/${device}/queue/rotational`) || read(`/sys/block/${base}/queue/rotational`);
    const sectors = Number(read(`/sys/block/${device}/size`) || read(`/sys/block/${base}/size`));
    const filesystem = read('/proc/mounts')
      .split('\n')
      .map((line) => line.split(' '))
      .filter((fields) => fields.length > 2 && directory.startsWith(fields[1]))
      .sort((a, b) => b[1].length - a[1].length)[0];
    const free = statfsSync(directory);
    disk =
      `${device}, ${((sectors * 512) / 1024 ** 3).toFixed(0)} GiB, ` +
      `${rotational.trim() === '0' ? 'non-rotational' : 'reported rotational (a virtual disk says so whatever backs it)'}, ` +
      `${filesystem ? `${filesystem[2]} on ${filesystem[1]}` : 'unknown filesystem'}, ` +
      `${((free.bavail * free.bsize) / 1024 ** 3).toFixed(0)} GiB free`;
  }
  return {
    cpu: model,
    cores: os.cpus().length,
    cpuFlags: relevant.length > 0 ? relevant.join(', ') : 'none of sha_ni, aes, avx2',
    memory: `${(memoryKiB / 1024 ** 2).toFixed(1)} GiB`,
    disk,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

/** Is `pid` this harness or one of its descendants (our servers, curl, the CLI)? */
function isOurs(pid: number, cache: Map<number, boolean>): boolean {
  const chain: number[] = [];
  let current: number | null = pid;
  let verdict = false;
  while (current !== null && current > 1) {
    const known = cache.get(current);
    if (known !== undefined) {
      verdict = known;
      break;
    }
    if (current === process.pid) {
      verdict = true;
      break;
    }
    chain.push(current);
    current = parentPid(current);
  }
  for (const link of chain) cache.set(link, verdict);
  return verdict;
}

export interface OtherLoad {
  /** Mean share of one core used by processes that are not this run's, over the whole run. */
  meanCores: number;
  /** The highest such share over one sampling interval. */
  peakCores: number;
  /** The busiest of them, by CPU seconds over the run. */
  top: { name: string; cores: number }[];
  loadAverageAtStart: number;
  loadAverageAtEnd: number;
}

/**
 * Samples every process's CPU time every few seconds and keeps what was used outside this run
 * (other people's tests on a shared machine, say), so that the report can say whether the
 * numbers were taken on a quiet machine. mariadbd counts as other load: it serves others too.
 */
export class LoadMonitor {
  private previous = allProcessCpu();
  private previousAt = Date.now();
  private readonly started = Date.now();
  private readonly startLoad = os.loadavg()[0];
  private otherSeconds = 0;
  private peakCores = 0;
  private readonly byName = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 5000) {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  private sample(): void {
    const now = Date.now();
    const current = allProcessCpu();
    const ours = new Map<number, boolean>();
    let other = 0;
    for (const [pid, seconds] of current) {
      const used = seconds - (this.previous.get(pid) ?? 0);
      if (used <= 0 || isOurs(pid, ours)) continue;
      other += used;
      const name = processName(pid);
      this.byName.set(name, (this.byName.get(name) ?? 0) + used);
    }
    const elapsed = (now - this.previousAt) / 1000;
    if (elapsed > 0) this.peakCores = Math.max(this.peakCores, other / elapsed);
    this.otherSeconds += other;
    this.previous = current;
    this.previousAt = now;
  }

  stop(): OtherLoad {
    clearInterval(this.timer);
    this.sample();
    const elapsed = Math.max(1, (Date.now() - this.started) / 1000);
    return {
      meanCores: this.otherSeconds / elapsed,
      peakCores: this.peakCores,
      top: [...this.byName.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([name, seconds]) => ({ name, cores: seconds / elapsed })),
      loadAverageAtStart: this.startLoad,
      loadAverageAtEnd: os.loadavg()[0],
    };
  }
}
