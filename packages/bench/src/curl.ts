import { runCommand } from './subprocess.js';

/**
 * curl is the client of every transfer row, for ours, the baselines and the peers alike: one
 * client, so that the ratios compare servers. Its own timer (time_total) leaves its start-up out.
 */

const MARK = '@@curl';
const WRITE_OUT = `\\n${MARK} %{http_code} %{time_total} %{size_upload} %{size_download}\\n`;

export interface Transfer {
  status: number;
  seconds: number;
  bytesUp: number;
  bytesDown: number;
  /** The response body, when it was not sent to a file. */
  body: string;
}

/**
 * Runs curl and returns one Transfer per URL it fetched. `-H 'Expect:'` everywhere: curl
 * otherwise waits up to a second for a "100 Continue" that a server may never send.
 */
export async function curl(args: string[]): Promise<Transfer[]> {
  return curlTransfers([args], false);
}

/**
 * Several transfers in one curl process: one after another, or all at once (`--parallel`).
 * One process either way, so that the client's own cost is alike in both.
 */
export async function curlTransfers(blocks: string[][], isParallel: boolean): Promise<Transfer[]> {
  const perTransfer = (block: string[]) => ['-H', 'Expect:', '-w', WRITE_OUT, ...block];
  const global = [
    '-sS',
    ...(isParallel ? ['--parallel', '--parallel-immediate', '--parallel-max', String(Math.min(blocks.length, 300))] : []),
  ];
  const args = [...global, ...blocks.flatMap((block, index) => [...(index > 0 ? ['--next'] : []), ...perTransfer(block)])];
  const result = await runCommand('curl', args);
  if (result.code !== 0) throw new Error(`curl failed (exit ${result.code}): ${result.stderr.trim().split('\n')[0]}`);
  const transfers: Transfer[] = [];
  let body = '';
  for (const line of result.stdout.split('\n')) {
    if (!line.startsWith(MARK)) {
      body += body === '' ? line : `\n${line}`;
      continue;
    }
    const [status, seconds, up, down] = line
      .slice(MARK.length + 1)
      .split(' ')
      .map(Number);
    transfers.push({ status, seconds, bytesUp: up, bytesDown: down, body: body.trim() });
    body = '';
  }
  return transfers;
}

/** One transfer that must answer 2xx; the error carries the status and the start of the body. */
export async function curlOnce(args: string[]): Promise<Transfer> {
  const [transfer] = await curl(args);
  if (!transfer) throw new Error('curl reported no transfer');
  if (transfer.status < 200 || transfer.status > 299) {
    throw new Error(`HTTP ${transfer.status}: ${transfer.body.slice(0, 200) || '(no body)'}`);
  }
  return transfer;
}

/** The per-transfer options of `curl -T` uploads in this harness, before the URL. */
export function uploadArgs(file: string, method: string, headers: Record<string, string> = {}): string[] {
  return ['-X', method, '-T', file, ...headerArgs(headers)];
}

export function headerArgs(headers: Record<string, string>): string[] {
  return Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]);
}
