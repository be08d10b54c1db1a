import { connect as connectTcp, isIP, type OnReadOpts, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { framingOf, type BodyFraming } from './body-framing.js';
import { MAX_HEAD_BYTES, malformedAnswer, parseHead, type ResponseHead } from './response-head.js';

/**
 * Every read of the connection lands in this one buffer (net's `onread`), and each piece is
 * hashed and written before the next read: the bytes are still in the CPU's cache when they
 * are hashed and copied to the file, and nothing is allocated per read, so that memory stays
 * flat without garbage collections. Larger buffers outgrow the cache and cost more per byte.
 */
export const READ_BUFFER_BYTES = 128 * 1024;
const CONNECT_TIMEOUT_MS = 10_000;
/** How long the server may stay silent, before the head or between body bytes while we read (undici's default too). */
const IDLE_TIMEOUT_MS = 300_000;
const HEADER_VALUE = /^[\t\u0020-\u007e\u0080-\u00ff]*$/;
const HEAD_END = Buffer.from('\r\n\r\n');

/** A failure of the connection; its code is one of the network reasons of client.ts. */
export class ConnectionFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Takes each piece of a body, in order, in the read buffer itself: the piece is overwritten
 * by the next read, so it must be used (hashed, written) before returning, or before the
 * promise returned settles (reading waits for it). Throwing, or a rejected promise, ends the
 * download with that error.
 */
export type BodySink = (piece: Buffer) => void | Promise<void>;

export interface InPlaceResponse extends ResponseHead {
  /**
   * Hands the body to `sink` (once); resolves when all of it was taken. A connection that
   * breaks rejects, after every piece received was taken.
   */
  drain(sink: BodySink): Promise<void>;
  /** Closes the connection without reading the body. */
  abort(): void;
}

/**
 * A GET over a connection of its own (HTTP/1.1, `Connection: close`) whose body is read in
 * place (ARCHITECTURE.md, "Written by hand, on purpose"). Resolves with the head; the body
 * waits, unread, for `drain`.
 */
export function inPlaceGet(url: URL, headers: Record<string, string>): Promise<InPlaceResponse> {
  return new InPlaceGet(url, headers).response;
}

class InPlaceGet {
  readonly response: Promise<InPlaceResponse>;
  private readonly socket: Socket;
  private readonly origin: string;
  /** The head so far, when it spans reads. */
  private head = Buffer.alloc(0);
  private framing: BodyFraming | undefined;
  /** A piece read before `drain` was called (with the head), moved to a buffer of its own. */
  private early: Buffer | undefined;
  private sink: BodySink | undefined;
  /** Nothing more is read: the body is all in, or `failure` ended it. */
  private isOver = false;
  /** A piece is with the sink (a promise it returned has not settled). */
  private isTaking = false;
  private failure: unknown;
  private onHead: { resolve(head: ResponseHead): void; reject(error: unknown): void } = { resolve() {}, reject() {} };
  private onDrained: { resolve(): void; reject(error: unknown): void } | undefined;

  constructor(url: URL, headers: Record<string, string>) {
    this.origin = url.origin;
    const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`];
    for (const [name, value] of Object.entries(headers)) {
      if (!HEADER_VALUE.test(value)) throw new Error(`the ${name} header holds characters HTTP does not allow`);
      lines.push(`${name}: ${value}`);
    }
    lines.push('connection: close', '', '');
    const head = new Promise<ResponseHead>((resolve, reject) => (this.onHead = { resolve, reject }));
    this.response = head.then((parsed) => ({ ...parsed, drain: (sink) => this.drain(sink), abort: () => this.abort() }));

    const buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    const onread: OnReadOpts = { buffer, callback: (bytes) => this.onRead(buffer, bytes) };
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const isTls = url.protocol === 'https:';
    const port = Number(url.port || (isTls ? 443 : 80));
    // tls.connect takes `onread` too (Node's docs), though @types/node leaves it out.
    const tls: ConnectionOptions & { onread: OnReadOpts } = {
      host,
      port,
      servername: isIP(host) ? undefined : host,
      ALPNProtocols: ['http/1.1'],
      onread,
    };
    this.socket = isTls ? connectTls(tls) : connectTcp({ host, port, onread });
    let isConnected = false;
    this.socket.setTimeout(CONNECT_TIMEOUT_MS);
    this.socket.once(isTls ? 'secureConnect' : 'connect', () => {
      isConnected = true;
      this.socket.setTimeout(IDLE_TIMEOUT_MS);
    });
    this.socket.on('timeout', () =>
      this.fail(
        isConnected
          ? new ConnectionFailure('RESPONSE_TIMEOUT', 'the server sent nothing for 300 s')
          : new ConnectionFailure('CONNECT_TIMEOUT', 'no connection after 10 s'),
      ),
    );
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('end', () => this.onEnd());
    this.socket.on('close', () => this.fail(new ConnectionFailure('CONNECTION_CLOSED', 'the server closed the connection')));
    this.socket.write(lines.join('\r\n'));
  }

  private drain(sink: BodySink): Promise<void> {
    if (this.sink) throw new Error('the body was already handed over');
    this.sink = sink;
    const drained = new Promise<void>((resolve, reject) => (this.onDrained = { resolve, reject }));
    const early = this.early;
    this.early = undefined;
    if (early) this.give(early);
    if (!this.isTaking) this.readOn();
    return drained;
  }

  private abort(): void {
    this.fail(new ConnectionFailure('CONNECTION_CLOSED', 'the download was abandoned'));
  }

  /** net's `onread` callback: `bytes` were read into `buffer`. Returns whether to read on. */
  private onRead(buffer: Buffer, bytes: number): boolean {
    if (this.isOver) return false;
    let length: number;
    try {
      let start = 0;
      if (!this.framing) {
        start = this.readHead(buffer, bytes);
        if (start === -1) return true;
      }
      length = this.framing!.take(buffer, start, bytes);
    } catch (error) {
      this.fail(error);
      return false;
    }
    if (this.framing!.isComplete) {
      this.isOver = true;
      this.socket.destroy();
    }
    if (length > 0) {
      const piece = buffer.subarray(0, length);
      // Read with the head, before anyone asked for the body: kept aside.
      if (!this.sink) this.early = this.early ? Buffer.concat([this.early, piece]) : Buffer.from(piece);
      else this.give(piece);
    }
    if (this.isOver) this.settle();
    const isReadingOn = !this.isOver && !this.isTaking && this.sink !== undefined;
    // Waiting on our side (a reader of standard output that is slow to take a piece) is no silence of the server.
    if (!isReadingOn && !this.isOver) this.socket.setTimeout(0);
    return isReadingOn;
  }

  /**
   * Reads the head from the start of `buffer`, after what earlier reads held of it; interim
   * (1xx) answers are skipped. Returns where the body starts in `buffer`, or -1 while the head
   * is not all in.
   */
  private readHead(buffer: Buffer, bytes: number): number {
    let offset = 0;
    for (;;) {
      const window = buffer.subarray(offset, Math.min(bytes, offset + MAX_HEAD_BYTES + HEAD_END.length - this.head.length));
      const combined = this.head.length === 0 ? window : Buffer.concat([this.head, window]);
      const end = combined.indexOf(HEAD_END);
      if (end === -1 || end > MAX_HEAD_BYTES) {
        if (combined.length > MAX_HEAD_BYTES) throw malformedAnswer(this.origin, `a head over ${MAX_HEAD_BYTES / 1024} KiB`);
        this.head = Buffer.from(combined);
        return -1;
      }
      const bodyStart = offset + end + HEAD_END.length - this.head.length;
      const head = parseHead(combined.toString('latin1', 0, end), this.origin);
      this.head = Buffer.alloc(0);
      if (head.statusCode >= 200) {
        this.framing = framingOf(head, this.origin);
        this.onHead.resolve(head);
        return bodyStart;
      }
      if (head.statusCode === 101) throw malformedAnswer(this.origin, 'a protocol switch');
      offset = bodyStart;
      if (offset >= bytes) return -1;
    }
  }

  /** Hands a piece to the sink; a promise it returns holds reading until it settles. */
  private give(piece: Buffer): void {
    let taken: void | Promise<void>;
    try {
      taken = this.sink!(piece);
    } catch (error) {
      return this.sinkFailed(error);
    }
    if (!taken) return;
    this.isTaking = true;
    taken.then(
      () => {
        this.isTaking = false;
        this.readOn();
      },
      (error: unknown) => {
        this.isTaking = false;
        this.sinkFailed(error);
      },
    );
  }

  private readOn(): void {
    if (this.isOver) return this.settle();
    this.socket.setTimeout(IDLE_TIMEOUT_MS);
    this.socket.resume();
  }

  private settle(): void {
    if (!this.onDrained || !this.isOver || this.isTaking) return;
    const { resolve, reject } = this.onDrained;
    this.onDrained = undefined;
    if (this.failure === undefined) resolve();
    else reject(this.failure);
  }

  private onEnd(): void {
    if (this.isOver) return;
    if (!this.framing?.endsWithConnection) {
      return this.fail(
        this.framing
          ? new ConnectionFailure('RESPONSE_CUT_SHORT', 'the answer was cut short')
          : new ConnectionFailure('CONNECTION_CLOSED', 'the server closed the connection'),
      );
    }
    this.isOver = true;
    this.settle();
  }

  /** Ends the download with `error`, unless it is over already (then the error is an echo: a close after the end). */
  private fail(error: unknown): void {
    if (this.isOver) return;
    this.isOver = true;
    this.failure = error;
    this.socket.destroy();
    this.onHead.reject(error);
    this.settle();
  }

  /** The sink could not take a piece (a full disk): that is the failure, even after the last byte. */
  private sinkFailed(error: unknown): void {
    this.isOver = true;
    this.failure = error;
    this.socket.destroy();
    this.settle();
  }
}
