/** Statistics and the interleaved repetition loop every timed case uses. */

/** Starts a monotonic clock; the function returned gives the seconds since. */
export function stopwatch(): () => number {
  const started = process.hrtime.bigint();
  return () => Number(process.hrtime.bigint() - started) / 1e9;
}

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** The worst sample: the lowest rate, or the highest time. */
export function worst(values: number[], higherIsBetter: boolean): number {
  if (values.length === 0) return Number.NaN;
  return higherIsBetter ? Math.min(...values) : Math.max(...values);
}

/**
 * Ratios of runs made side by side (repetition i of A over repetition i of B). Their median
 * is what the issue compares: load from elsewhere moves both members of a pair alike.
 */
export function pairedRatios(numerators: number[], denominators: number[]): number[] {
  const count = Math.min(numerators.length, denominators.length);
  const ratios: number[] = [];
  for (let index = 0; index < count; index++) {
    if (denominators[index] > 0 && Number.isFinite(numerators[index])) ratios.push(numerators[index] / denominators[index]);
  }
  return ratios;
}

export interface Variant {
  label: string;
  /** One timed run; returns the sample (seconds, or a rate). */
  run(repetition: number): Promise<number>;
  /** Untimed: undo what the run left (delete the upload), so that every run starts alike. */
  after?(repetition: number): Promise<void>;
}

export interface VariantSamples {
  samples: number[];
  /** Set when the variant failed; later repetitions skip it. */
  error?: string;
}

/**
 * Runs every variant once per repetition, A,B,C then B,C,A…: no variant always goes first
 * (warmest cache) or last, and repetition i of every variant ran under the same conditions,
 * which is what makes paired ratios meaningful. A variant that fails is reported and dropped,
 * so one broken peer does not end the run.
 */
export async function interleave(repetitions: number, variants: Variant[]): Promise<Map<string, VariantSamples>> {
  const results = new Map<string, VariantSamples>(variants.map((variant) => [variant.label, { samples: [] }]));
  for (let repetition = 0; repetition < repetitions; repetition++) {
    for (let offset = 0; offset < variants.length; offset++) {
      const variant = variants[(repetition + offset) % variants.length];
      const result = results.get(variant.label)!;
      if (result.error !== undefined) continue;
      try {
        result.samples.push(await variant.run(repetition));
        await variant.after?.(repetition);
      } catch (error) {
        result.error = (error as Error).message;
        // Paired ratios need aligned repetitions: a failed variant keeps none.
        result.samples = [];
      }
    }
  }
  return results;
}
