import { createServer, connect, type Socket } from 'node:net';
import { Transform } from 'node:stream';

/** A request that went through the proxy, and the status of its answer. */
export interface SeenRequest {
  method: string;
  target: string;
  headers: string;
  status?: number;
}

export interface ProxyOptions {
  /** Flip the first body byte of every answer that carries a Repr-Digest (a download). */
  corruptDownloads?: boolean;
}

/** Cut the connection of each of the next `times` downloads (or uploads) at about `afterBytes` of its body: the chunk that reaches it is not forwarded. */
export interface Cut {
  afterBytes: number;
  times: number;
}

export interface Proxy {
  url: string;
  /** Bytes the client sent (request lines, headers and bodies) since the last reset. */
  bytesUp(): number;
  /** Bytes the server sent back since the last reset. */
  bytesDown(): number;
  requests: SeenRequest[];
  reset(): void;
  /** From now on, cut downloads (answers with a Repr-Digest and a body) part way. */
  cutDownloads(cut: Cut): void;
  /** From now on, cut request bodies sent with PATCH (tus uploads) part way. */
  cutUploads(cut: Cut): void;
  /**
   * Holds the next PATCH body once `afterBytes` of it went through (the client seems to hang
   * mid-upload); resolves then, for the test to interrupt the client.
   */
  stallUpload(afterBytes: number): Promise<void>;
}

type BodyHook = (body: Buffer, offset: number) => void;

/**
 * Follows HTTP/1.1 messages in one direction of a connection (head, then Content-Length bytes
 * of body), so that the proxy can see each request and answer and touch a body byte. A chunked
 * body ends the following: these tests never send one.
 */
class MessageScanner {
  private head = Buffer.alloc(0);
  private bodyLeft = 0;
  private bodyOffset = 0;
  private hook: BodyHook | undefined;
  private isBlind = false;

  constructor(private readonly onHead: (head: string) => BodyHook | undefined) {}

  scan(chunk: Buffer): void {
    let position = 0;
    while (!this.isBlind && position < chunk.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, chunk.length - position);
        this.hook?.(chunk.subarray(position, position + take), this.bodyOffset);
        this.bodyOffset += take;
        this.bodyLeft -= take;
        position += take;
        continue;
      }
      const previous = this.head.length;
      const combined = Buffer.concat([this.head, chunk.subarray(position)]);
      const end = combined.indexOf('\r\n\r\n');
      if (end === -1) {
        this.head = combined;
        return;
      }
      const head = combined.subarray(0, end).toString('latin1');
      position += end + 4 - previous;
      this.head = Buffer.alloc(0);
      this.hook = this.onHead(head);
      this.bodyOffset = 0;
      this.bodyLeft = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      this.isBlind = /\r\ntransfer-encoding:\s*chunked/i.test(head);
    }
  }
}

function scanning(scanner: MessageScanner, count: (bytes: number) => void, isHeld: () => boolean = () => false): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      scanner.scan(chunk);
      // A held connection forwards nothing more, and counts nothing more, until it closes.
      if (isHeld()) return;
      count(chunk.length);
      done(null, chunk);
    },
  });
}

/** A loopback TCP proxy in front of the server that counts what goes up and can corrupt what comes down. */
export async function startProxy(t: { teardown(fn: () => unknown): void }, targetPort: number, options: ProxyOptions = {}): Promise<Proxy> {
  let bytesUp = 0;
  let bytesDown = 0;
  let downloadCut: Cut = { afterBytes: 0, times: 0 };
  let uploadCut: Cut = { afterBytes: 0, times: 0 };
  let uploadStall: { afterBytes: number; stalled: () => void } | undefined;
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const waiting: SeenRequest[] = [];
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    // Once held (stalled or cut), the connection forwards nothing more in either direction.
    let isHeld = false;
    /** A body hook that closes the connection once `cut.afterBytes` of the body went by, if a cut is left. */
    const cutting = (cut: Cut): BodyHook | undefined => {
      if (cut.times === 0) return undefined;
      cut.times -= 1;
      return (body, offset) => {
        if (isHeld || offset + body.length < cut.afterBytes) return;
        isHeld = true;
        setImmediate(close);
      };
    };
    const stalling = (): BodyHook | undefined => {
      const stall = uploadStall;
      uploadStall = undefined;
      if (!stall) return undefined;
      return (body, offset) => {
        if (isHeld || offset + body.length < stall.afterBytes) return;
        isHeld = true;
        stall.stalled();
      };
    };
    const requestScanner = new MessageScanner((head) => {
      const [method = '', target = ''] = head.split(' ');
      const request = { method, target, headers: head };
      requests.push(request);
      waiting.push(request);
      if (method !== 'PATCH') return undefined;
      return stalling() ?? cutting(uploadCut);
    });
    const answerScanner = new MessageScanner((head) => {
      const request = waiting.shift();
      if (request) request.status = Number(head.split(' ')[1]);
      if (!/\r\nrepr-digest:/i.test(head) || request?.method === 'PATCH') return undefined;
      if (!options.corruptDownloads) return cutting(downloadCut);
      return (body, offset) => {
        if (offset === 0 && body.length > 0) body[0] ^= 0xff;
      };
    });
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    client
      .pipe(
        scanning(
          requestScanner,
          (bytes) => (bytesUp += bytes),
          () => isHeld,
        ),
      )
      .pipe(upstream);
    upstream
      .pipe(
        scanning(
          answerScanner,
          (bytes) => (bytesDown += bytes),
          () => isHeld,
        ),
      )
      .pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    bytesUp: () => bytesUp,
    bytesDown: () => bytesDown,
    requests,
    reset() {
      bytesUp = 0;
      bytesDown = 0;
      requests.length = 0;
    },
    cutDownloads(cut) {
      downloadCut = { ...cut };
    },
    cutUploads(cut) {
      uploadCut = { ...cut };
    },
    stallUpload(afterBytes) {
      return new Promise((resolve) => {
        uploadStall = { afterBytes, stalled: resolve };
      });
    },
  };
}
