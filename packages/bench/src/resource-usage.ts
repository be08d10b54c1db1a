import { median } from './measure.js';
import { cpuSeconds, diskCounters, reapedChildrenCpuSeconds } from './proc-stats.js';

/**
 * Where a timed run spent the machine: the server's CPU, the client's (curl, reaped children
 * of this harness) and the disk's busy time. A path is only worth optimising further until
 * one of them is saturated; the report prints these beside the ratios.
 */

export interface Usage {
  seconds: number;
  /** Share of one core, 1 = 100 %. Null when the server's process is not known. */
  serverCpu: number | null;
  clientCpu: number;
  diskBusy: number | null;
}

export async function withUsage<T>(serverPid: number | null, device: string | null, action: () => Promise<T>): Promise<{ result: T; usage: Usage }> {
  const serverBefore = serverPid === null ? null : cpuSeconds(serverPid);
  const clientBefore = reapedChildrenCpuSeconds();
  const diskBefore = device === null ? null : diskCounters(device);
  const started = process.hrtime.bigint();
  const result = await action();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const serverAfter = serverPid === null ? null : cpuSeconds(serverPid);
  const diskAfter = device === null ? null : diskCounters(device);
  return {
    result,
    usage: {
      seconds,
      serverCpu: serverBefore !== null && serverAfter !== null ? (serverAfter - serverBefore) / seconds : null,
      clientCpu: (reapedChildrenCpuSeconds() - clientBefore) / seconds,
      diskBusy: diskBefore && diskAfter ? (diskAfter.busyMs - diskBefore.busyMs) / 1000 / seconds : null,
    },
  };
}

const percent = (share: number) => `${Math.round(share * 100)} %`;

/** "server 97 % of a core, client 61 %, disk busy 35 %": medians over the runs. */
export function describeUsage(usages: Usage[]): string {
  if (usages.length === 0) return '';
  const parts: string[] = [];
  const server = usages.map((usage) => usage.serverCpu).filter((value): value is number => value !== null);
  if (server.length > 0) parts.push(`server ${percent(median(server))} of a core`);
  parts.push(`client ${percent(median(usages.map((usage) => usage.clientCpu)))}`);
  const disk = usages.map((usage) => usage.diskBusy).filter((value): value is number => value !== null);
  if (disk.length > 0) parts.push(`disk busy ${percent(median(disk))}`);
  return parts.join(', ');
}
