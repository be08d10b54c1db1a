import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** What Linux's /proc says about a process, the disks and this harness's reaped children. */

let clockTicks: number | undefined;
/** utime and stime in /proc are in clock ticks (USER_HZ), 100 on every Linux we know of. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface MemoryStatus {
  rssKiB: number;
  /** Peak resident set since start, or since the last resetPeakRss. */
  peakRssKiB: number;
}

export function readMemory(pid: number): MemoryStatus | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssKiB: field('VmRSS'), peakRssKiB: field('VmHWM') };
  } catch {
    return null;
  }
}

/** Writing 5 to clear_refs resets VmHWM (Linux ≥ 4.0), so a peak can be taken from a known point. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Bytes the process caused to be written to storage (page-cache writes count when dirtied). */
export function writtenBytes(pid: number): number | null {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    return Number(/^write_bytes:\s+(\d+)/m.exec(io)?.[1] ?? Number.NaN);
  } catch {
    return null;
  }
}

function statFields(pid: number | 'self'): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** CPU seconds (user + system, every thread) a process has used so far. */
export function cpuSeconds(pid: number): number | null {
  const fields = statFields(pid);
  if (!fields) return null;
  // After the name: state is index 0, so utime (field 14) is index 11 and stime index 12.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

/** CPU seconds of each thread of a process, by thread id (the main thread's id is the pid). */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const result = new Map<number, number>();
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return result;
  }
  for (const thread of threads) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${thread}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      result.set(Number(thread), (Number(fields[11]) + Number(fields[12])) / ticksPerSecond());
    } catch {
      // The thread ended meanwhile.
    }
  }
  return result;
}

/**
 * CPU seconds of this harness's children that have exited and been reaped (curl, openssl,
 * the CLI): the cost of the client side of a transfer without wrapping it in time(1).
 */
export function reapedChildrenCpuSeconds(): number {
  const fields = statFields('self');
  if (!fields) return 0;
  return (Number(fields[13]) + Number(fields[14])) / ticksPerSecond();
}

export function parentPid(pid: number): number | null {
  const fields = statFields(pid);
  return fields ? Number(fields[1]) : null;
}

export function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

export interface DiskCounters {
  /** Milliseconds the device had I/O in flight: its busy time. */
  busyMs: number;
  bytesWritten: number;
}

export function diskCounters(device: string): DiskCounters | null {
  try {
    for (const line of readFileSync('/proc/diskstats', 'utf8').split('\n')) {
      const fields = line.trim().split(/\s+/);
      if (fields[2] === device) return { busyMs: Number(fields[12]), bytesWritten: Number(fields[9]) * 512 };
    }
  } catch {
    // No /proc/diskstats: not Linux.
  }
  return null;
}

/** The block device (as /proc/diskstats names it) under a path, via the mount's major:minor. */
export function blockDeviceOf(target: string): string | null {
  try {
    const resolved = realpathSync(target);
    let best: { mountPoint: string; majorMinor: string } | null = null;
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const fields = line.split(' ');
      if (fields.length < 5) continue;
      const mountPoint = fields[4];
      const inside = resolved === mountPoint || resolved.startsWith(mountPoint.endsWith('/') ? mountPoint : `${mountPoint}/`);
      if (inside && (!best || mountPoint.length > best.mountPoint.length)) best = { mountPoint, majorMinor: fields[2] };
    }
    if (!best) return null;
    return path.basename(readlinkSync(`/sys/dev/block/${best.majorMinor}`));
  } catch {
    return null;
  }
}

/** Every process's CPU seconds so far, to see what else ran on the machine during a case. */
export function allProcessCpu(): Map<number, number> {
  const result = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return result;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const seconds = cpuSeconds(Number(entry));
    if (seconds !== null) result.set(Number(entry), seconds);
  }
  return result;
}
