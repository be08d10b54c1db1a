import autocannon from 'autocannon';

/** One autocannon run that must see only 2xx answers; returns requests per second and latencies. */

export interface Throughput {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export interface Load {
  seconds: number;
  /** A number of requests instead of a duration. */
  amount: number | null;
  connections: number;
}

export async function hammer(url: string, headers: Record<string, string>, load: Load): Promise<Throughput> {
  const result = await autocannon({
    url,
    headers,
    connections: load.connections,
    pipelining: 1,
    ...(load.amount === null ? { duration: load.seconds } : { amount: load.amount }),
  });
  if (result.errors > 0 || result.non2xx > 0) {
    throw new Error(`${result.non2xx} non-2xx answers and ${result.errors} errors from ${new URL(url).pathname}`);
  }
  return {
    requestsPerSecond: result['2xx'] / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
  };
}
