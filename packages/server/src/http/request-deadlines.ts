import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

interface WatchedUpload {
  request: IncomingMessage;
  bytesRead: number;
  /** Time counted against the client since its last byte. */
  idleMs: number;
  /** When this upload was last looked at (watched, or checked). */
  lastLook: number;
}

/**
 * An upload's body has no whole-request deadline (a big file takes what it takes) but may not go
 * quiet: once `bodyIdleTimeoutMs` pass without a byte while the server waits for one, its socket
 * is cut. Time in which the server itself holds the socket paused (waiting for an upload buffer,
 * for the disk) does not count: the request's buffer is then full, so the client is not the one
 * keeping us waiting. Nor does time in which the server's own event loop was stalled (a long
 * collection, a blocked disk): bytes sent meanwhile wait unread in the kernel, and a check that
 * comes late still runs before they are read. So each check counts at most its own interval, and
 * never more than has passed since it last looked at that upload: the cut may land late, never early.
 * Node's own `requestTimeout` covers every other request.
 */
export class RequestDeadlines {
  private readonly uploads = new Map<Socket, WatchedUpload>();
  private readonly timer: NodeJS.Timeout;
  private readonly checkIntervalMs: number;

  constructor(
    private readonly bodyIdleTimeoutMs: number,
    private readonly clock: () => number = Date.now,
  ) {
    // A tenth of the deadline: the cut-off lands within 10 % of it.
    this.checkIntervalMs = Math.min(1000, Math.max(20, bodyIdleTimeoutMs / 10));
    this.timer = setInterval(() => this.cutIdleUploads(), this.checkIntervalMs);
    this.timer.unref();
  }

  /** From now until its body has arrived, `request` is an upload: idle-checked, not whole-request timed. */
  watchUpload(request: IncomingMessage): void {
    if (request.complete) return;
    const socket = request.socket;
    this.uploads.set(socket, { request, bytesRead: socket.bytesRead, idleMs: 0, lastLook: this.clock() });
    const forget = () => {
      if (this.uploads.get(socket)?.request === request) this.uploads.delete(socket);
    };
    request.once('end', forget);
    request.once('close', forget);
  }

  /** Whether `socket` is receiving an upload's body (Node's whole-request timeout does not apply to it). */
  isReceivingUpload(socket: Socket): boolean {
    return this.uploads.has(socket);
  }

  close(): void {
    clearInterval(this.timer);
    this.uploads.clear();
  }

  private cutIdleUploads(): void {
    const now = this.clock();
    for (const [socket, upload] of this.uploads) {
      const { request } = upload;
      if (request.complete || socket.destroyed) {
        this.uploads.delete(socket);
        continue;
      }
      const counted = Math.min(now - upload.lastLook, this.checkIntervalMs);
      upload.lastLook = now;
      const isHeldByServer = request.readableLength >= request.readableHighWaterMark;
      if (socket.bytesRead !== upload.bytesRead || isHeldByServer) {
        upload.bytesRead = socket.bytesRead;
        upload.idleMs = 0;
      } else if ((upload.idleMs += counted) >= this.bodyIdleTimeoutMs) {
        this.uploads.delete(socket);
        socket.destroy();
      }
    }
  }
}
