import { malformedAnswer, type ResponseHead } from './response-head.js';

/**
 * Where the body of an answer to a GET ends (RFC 9112, 6.3), read in place: `take` is given
 * bytes just read at `buffer[start, end)` and moves the body bytes among them to the front of
 * the buffer, returning how many there are; framing bytes (chunk sizes) are dropped.
 */
export interface BodyFraming {
  take(buffer: Buffer, start: number, end: number): number;
  /** The whole body has been taken. */
  readonly isComplete: boolean;
  /** The body ends where the connection ends (neither length nor chunks): its end is no cut. */
  readonly endsWithConnection: boolean;
}

/** At most 13 hex digits (under 2^52 bytes), so that the size stays an exact number. */
const CHUNK_SIZE_LINE = /^([0-9a-fA-F]{1,13})[ \t]*(?:;.*)?$/;
/** A chunk-size or trailer line longer than this is refused. */
const MAX_LINE_BYTES = 8 * 1024;

export function framingOf(head: ResponseHead, origin: string): BodyFraming {
  const { statusCode, headers } = head;
  if (statusCode === 204 || statusCode === 304) return new LengthFraming(0);
  const coding = headers['transfer-encoding'];
  if (coding !== undefined) {
    if (coding.toLowerCase() !== 'chunked') throw malformedAnswer(origin, `Transfer-Encoding ${coding}`);
    return new ChunkedFraming(origin);
  }
  const length = headers['content-length'];
  if (length === undefined) return new UntilCloseFraming();
  if (!/^[0-9]{1,15}$/.test(length)) throw malformedAnswer(origin, 'Content-Length');
  return new LengthFraming(Number(length));
}

class LengthFraming implements BodyFraming {
  readonly endsWithConnection = false;

  constructor(private remaining: number) {}

  get isComplete(): boolean {
    return this.remaining === 0;
  }

  take(buffer: Buffer, start: number, end: number): number {
    const length = Math.min(this.remaining, end - start);
    if (start > 0) buffer.copyWithin(0, start, start + length);
    this.remaining -= length;
    return length;
  }
}

class UntilCloseFraming implements BodyFraming {
  readonly endsWithConnection = true;
  readonly isComplete = false;

  take(buffer: Buffer, start: number, end: number): number {
    if (start > 0) buffer.copyWithin(0, start, end);
    return end - start;
  }
}

type ChunkedState = 'size' | 'data' | 'data-end' | 'trailer' | 'done';

/** `Transfer-Encoding: chunked`: size lines, data, CRLF, …, a zero size, trailer lines (ignored), an empty line. */
class ChunkedFraming implements BodyFraming {
  readonly endsWithConnection = false;
  private state: ChunkedState = 'size';
  private remaining = 0;
  /** The line being read, when it spans reads. */
  private line = '';

  constructor(private readonly origin: string) {}

  get isComplete(): boolean {
    return this.state === 'done';
  }

  take(buffer: Buffer, start: number, end: number): number {
    let length = 0;
    let position = start;
    while (position < end && this.state !== 'done') {
      if (this.state === 'data') {
        const take = Math.min(this.remaining, end - position);
        if (length !== position) buffer.copyWithin(length, position, position + take);
        length += take;
        position += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'data-end';
        continue;
      }
      const newline = buffer.subarray(position, end).indexOf(10);
      const lineEnd = newline === -1 ? end : position + newline;
      this.line += buffer.toString('latin1', position, lineEnd);
      if (this.line.length > MAX_LINE_BYTES) throw malformedAnswer(this.origin, 'chunk line too long');
      position = lineEnd;
      if (lineEnd === end) break;
      position += 1;
      if (!this.line.endsWith('\r')) throw malformedAnswer(this.origin, 'chunk line end');
      const line = this.line.slice(0, -1);
      this.line = '';
      this.endLine(line);
    }
    return length;
  }

  private endLine(line: string): void {
    if (this.state === 'size') {
      const size = CHUNK_SIZE_LINE.exec(line);
      if (!size) throw malformedAnswer(this.origin, 'chunk size');
      this.remaining = Number.parseInt(size[1], 16);
      this.state = this.remaining === 0 ? 'trailer' : 'data';
    } else if (this.state === 'data-end') {
      if (line !== '') throw malformedAnswer(this.origin, 'chunk longer than its size');
      this.state = 'size';
    } else if (line === '') {
      this.state = 'done';
    }
  }
}
