import { median, stopwatch } from './measure.js';
import { cpuSeconds, diskCounters, reapedChildrenCpuSeconds, threadCpuSeconds } from './proc-stats.js';

/**
 * Where a timed run spent the machine: the server's CPU, the client's (curl, reaped children
 * of this harness) and the disk's busy time. A path is only worth optimising further until
 * one of them is saturated; the report prints these beside the ratios.
 */

export interface Usage {
  seconds: number;
  /** Share of one core, 1 = 100 %, every thread together. Null when the server's process is not known. */
  serverCpu: number | null;
  /** The server's main thread (the event loop), and its busiest other thread (a hashing worker, say). */
  serverMainThread: number | null;
  serverOtherThread: number | null;
  clientCpu: number;
  diskBusy: number | null;
}

export async function withUsage<T>(
  serverPid: number | null,
  device: string | null,
  action: () => Promise<T>,
): Promise<{ result: T; usage: Usage }> {
  const serverBefore = serverPid === null ? null : cpuSeconds(serverPid);
  const threadsBefore = serverPid === null ? new Map<number, number>() : threadCpuSeconds(serverPid);
  const clientBefore = reapedChildrenCpuSeconds();
  const diskBefore = device === null ? null : diskCounters(device);
  const elapsed = stopwatch();
  const result = await action();
  const seconds = elapsed();
  const serverAfter = serverPid === null ? null : cpuSeconds(serverPid);
  const threadShares = new Map<number, number>();
  if (serverPid !== null) {
    for (const [thread, cpu] of threadCpuSeconds(serverPid)) threadShares.set(thread, (cpu - (threadsBefore.get(thread) ?? 0)) / seconds);
  }
  const others = [...threadShares.entries()].filter(([thread]) => thread !== serverPid).map(([, share]) => share);
  const diskAfter = device === null ? null : diskCounters(device);
  return {
    result,
    usage: {
      seconds,
      serverCpu: serverBefore !== null && serverAfter !== null ? (serverAfter - serverBefore) / seconds : null,
      serverMainThread: serverPid === null ? null : (threadShares.get(serverPid) ?? null),
      serverOtherThread: others.length > 0 ? Math.max(...others) : null,
      clientCpu: (reapedChildrenCpuSeconds() - clientBefore) / seconds,
      diskBusy: diskBefore && diskAfter ? (diskAfter.busyMs - diskBefore.busyMs) / 1000 / seconds : null,
    },
  };
}

const percent = (share: number) => `${Math.round(share * 100)} %`;
const MIN_SAMPLED_SECONDS = 0.25;

/** "server 97 % of a core (main thread 80 %, busiest other thread 17 %), client 61 %, disk busy 35 %": medians over the runs. */
export function describeUsage(allUsages: Usage[]): string {
  // CPU time is counted in 10 ms ticks: shares over shorter runs would be noise.
  const usages = allUsages.filter((usage) => usage.seconds >= MIN_SAMPLED_SECONDS);
  if (usages.length === 0) return '';
  const parts: string[] = [];
  const known = (values: (number | null)[]) => values.filter((value): value is number => value !== null);
  const server = known(usages.map((usage) => usage.serverCpu));
  const main = known(usages.map((usage) => usage.serverMainThread));
  const other = known(usages.map((usage) => usage.serverOtherThread));
  if (server.length > 0) {
    const threads =
      main.length > 0
        ? ` (main thread ${percent(median(main))}${other.length > 0 ? `, busiest other thread ${percent(median(other))}` : ''})`
        : '';
    parts.push(`server ${percent(median(server))} of a core${threads}`);
  }
  parts.push(`client ${percent(median(usages.map((usage) => usage.clientCpu)))}`);
  const disk = usages.map((usage) => usage.diskBusy).filter((value): value is number => value !== null);
  if (disk.length > 0) parts.push(`disk busy ${percent(median(disk))}`);
  return parts.join(', ');
}
