import { formatBytes, formatDuration, formatRate } from './units.js';

/** Where a long read or transfer reports how far it got. */
export interface Progress {
  advance(bytes: number): void;
  /** Takes the bar off the terminal, so that the result line that follows stands alone. */
  finish(): void;
}

export const NO_PROGRESS: Progress = { advance() {}, finish() {} };

export interface TerminalStream {
  write(text: string): unknown;
  columns?: number;
}

/** Redrawing more often than this costs time and shows nothing a reader can follow. */
const REDRAW_INTERVAL_MS = 100;
const BAR_WIDTH = 20;
const CLEAR_LINE = '\r\u001b[K';

/** One line on a terminal, redrawn in place: label, bar, bytes, rate and time left. */
export class ProgressBar implements Progress {
  private done = 0;
  private readonly startedAt: number;
  private drawnAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly terminal: TerminalStream,
    private readonly label: string,
    /** Unknown for standard input: then the bar shows bytes and rate only. */
    private readonly total: number | undefined,
    private readonly now: () => number,
  ) {
    this.startedAt = now();
    this.draw(this.startedAt);
  }

  advance(bytes: number): void {
    this.done += bytes;
    const time = this.now();
    if (time - this.drawnAt >= REDRAW_INTERVAL_MS) this.draw(time);
  }

  finish(): void {
    this.terminal.write(CLEAR_LINE);
  }

  private draw(time: number): void {
    this.drawnAt = time;
    const seconds = (time - this.startedAt) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    const parts: string[] = [];
    if (this.total === undefined) {
      parts.push(formatBytes(this.done));
    } else {
      const fraction = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
      const filled = Math.round(fraction * BAR_WIDTH);
      parts.push(`[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`);
      parts.push(`${formatBytes(this.done)} / ${formatBytes(this.total)}`);
    }
    parts.push(formatRate(rate));
    if (this.total !== undefined && rate > 0 && this.done < this.total) {
      parts.push(`${formatDuration((this.total - this.done) / rate)} left`);
    }
    const status = parts.join('  ');
    // A pseudo-terminal that was never sized reports 0 columns.
    const columns = this.terminal.columns || 80;
    const room = Math.max(0, columns - status.length - 3);
    const label = this.label.length > room ? `${this.label.slice(0, Math.max(0, room - 1))}…` : this.label;
    this.terminal.write(`${CLEAR_LINE}${label}  ${status}`.slice(0, columns + CLEAR_LINE.length));
  }
}
