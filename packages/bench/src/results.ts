import type { CaseId } from './options.js';
import { median, worst } from './measure.js';
import type { TargetVerdict } from './targets.js';

/** What a run found: absolutes, paired ratios, target verdicts and notes, as the report prints them. */

export type Unit = 'MiB/s' | 's' | 'ms' | 'req/s' | 'MiB' | 'KiB' | 'B/B';

export interface Row {
  caseId: CaseId;
  /** The table it belongs to, such as "Upload, 1 GiB". */
  table: string;
  label: string;
  unit: Unit;
  higherIsBetter: boolean;
  samples: number[];
  /** Why it has no samples: skipped (a peer missing) or failed (an error), with the reason. */
  missing?: string;
  /** Side facts of the median run, such as where the CPU went. */
  detail?: string;
}

export interface RatioRow {
  caseId: CaseId;
  table: string;
  label: string;
  /** One ratio per repetition pair; the report prints their median and range. */
  ratios: number[];
}

export interface ProfileSummary {
  title: string;
  totalMs: number;
  top: { name: string; where: string; selfMs: number; share: number }[];
}

export class Results {
  readonly rows: Row[] = [];
  readonly ratios: RatioRow[] = [];
  readonly verdicts: TargetVerdict[] = [];
  readonly notes: string[] = [];
  readonly profiles: ProfileSummary[] = [];
  readonly casesRun = new Set<CaseId>();

  add(row: Row): Row {
    this.rows.push(row);
    return row;
  }

  addRatio(ratio: RatioRow): RatioRow {
    this.ratios.push(ratio);
    return ratio;
  }

  /** A row that could not be measured, and why: it is still printed, so nothing vanishes silently. */
  addMissing(caseId: CaseId, table: string, label: string, reason: string, unit: Unit = 'MiB/s'): void {
    this.rows.push({ caseId, table, label, unit, higherIsBetter: true, samples: [], missing: reason });
  }

  note(text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text);
  }

  judge(verdict: TargetVerdict): void {
    this.verdicts.push(verdict);
  }
}

export function summarize(row: Row): { median: number; worst: number } {
  return { median: median(row.samples), worst: worst(row.samples, row.higherIsBetter) };
}
