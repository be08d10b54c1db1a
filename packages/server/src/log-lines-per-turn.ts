/**
 * The server's log destination: the lines logged in one turn of the event loop are written
 * together when the turn ends (the check phase, as `http/answers-per-turn.ts` does for answers),
 * in one write, and at the latest when the process exits.
 *
 * pino's own destination wrote each line through libuv's thread pool: per line a dispatch and a
 * completion callback on the main thread and a pool thread woken, an eighth of a small download's
 * main thread under load (issue 18, PERFORMANCE-NOTES). Standard output is written synchronously
 * on Linux (files, pipes and terminals alike), so memory stays bounded: a log reader that stops
 * reading holds the server up, where the thread pool's destination kept every line in memory. A
 * reader that goes away (EPIPE) ends the logging, not the server.
 */
export class LinesPerTurn {
  private pending: string[] = [];
  private isFlushScheduled = false;
  private isWatching = false;
  private isClosed = false;

  constructor(private readonly output: NodeJS.WritableStream) {}

  write(line: string): void {
    if (this.isClosed) return;
    this.watch();
    this.pending.push(line);
    if (this.isFlushScheduled) return;
    this.isFlushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes what is pending now (pino's `flush`). */
  flush(callback?: (error?: Error) => void): void {
    this.isFlushScheduled = false;
    if (this.pending.length > 0 && !this.isClosed) this.output.write(this.pending.join(''));
    this.pending = [];
    callback?.();
  }

  /** From the first line on: the rest is written at exit, and a closed output stops the logging. */
  private watch(): void {
    if (this.isWatching) return;
    this.isWatching = true;
    process.once('exit', () => this.flush());
    this.output.on('error', () => {
      this.isClosed = true;
      this.pending = [];
    });
  }
}

/** The one destination of every app in this process (standard output is one). */
export const standardOutputLines = new LinesPerTurn(process.stdout);
