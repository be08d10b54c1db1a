import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import t from 'tap';
import { forEachDatabase } from './helpers/build-app.js';
import { randomContent, sha256Hex, temporaryFiles } from './helpers/content.js';
import { startFileServer } from './helpers/file-server.js';
import { replyOf, sendSlowly, start } from './helpers/raw-http.js';
import { assertNothingLeft, storageState } from './helpers/storage-state.js';
import { sleep } from './helpers/waiting.js';

const MiB = 1024 * 1024;
/** API.md's 30 s and 60 s, shortened through their settings so that the tests take seconds. */
const DEADLINE_MS = 1500;
/** Node checks its deadlines every tenth of the headers deadline here; the machine may be loaded. */
const SLACK_MS = 2500;

forEachDatabase(t, async (t, kind) => {
  const {
    server,
    db,
    drives: [alice],
  } = await startFileServer(t, kind, ['alice'], {
    headersTimeoutMs: DEADLINE_MS,
    requestTimeoutMs: DEADLINE_MS,
    bodyIdleTimeoutMs: DEADLINE_MS,
  });
  const { port } = new URL(server.url);
  // The store starts its hashing threads at the first upload: not inside a timed test.
  await alice.upload('warm-up.bin', randomContent(2 * MiB));

  t.test('headers trickled one byte at a time are cut off at the headers deadline', async (t) => {
    const head = Buffer.from(`GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ${'a'.repeat(500)}\r\n\r\n`);
    const result = await sendSlowly(server.url, Buffer.alloc(0), head, { bytesPerTick: 1, intervalMs: 20, giveUpMs: 20_000 });
    t.ok(result.closedAfterMs >= DEADLINE_MS - 100, `not before the deadline (${result.closedAfterMs} ms)`);
    t.ok(result.closedAfterMs < DEADLINE_MS + SLACK_MS, `soon after it (${result.closedAfterMs} ms)`);
    t.ok(result.sent < head.length, 'while the client was still sending');
    t.equal(result.received, '', 'no answer: the connection is cut');
  });

  t.test('a /login body trickled one byte at a time is cut off: a request that is not an upload arrives whole in time', async (t) => {
    const body = JSON.stringify({ username: 'alice', password: 'correct horse battery', padding: 'x'.repeat(200) });
    const request = Buffer.from(
      `POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
    );
    // The head at once, then the body a byte every 100 ms: never idle for long, never done.
    const result = await sendSlowly(server.url, request, Buffer.from(body), {
      bytesPerTick: 1,
      intervalMs: 100,
      giveUpMs: 20_000,
    }).catch((error: Error) => error);
    if (result instanceof Error) return void t.fail(result.message);
    t.ok(result.closedAfterMs >= DEADLINE_MS - 100, `not before the deadline (${result.closedAfterMs} ms)`);
    t.ok(result.closedAfterMs < DEADLINE_MS + SLACK_MS, 'soon after it');
    t.equal(result.received, '', 'no answer: the request never arrived whole');
  });

  /** Opens a raw upload of `filename`, sends `sent` of its body, then nothing: how long until the server cuts it. */
  async function goSilent(filename: string, sent: Buffer) {
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.on('error', () => {});
    await once(socket, 'connect');
    const closed = once(socket, 'close');
    const head =
      `POST /cloud/my-drive/?filename=${filename} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${alice.token}\r\n` +
      `Content-Type: application/octet-stream\r\nContent-Length: ${64 * MiB}\r\n\r\n`;
    await new Promise((resolve) => socket.write(Buffer.concat([Buffer.from(head), sent]), resolve));
    const silentSince = Date.now();
    // The server may hold the socket paused a while (its disk, its hashing threads): that time does not count.
    await Promise.race([closed, sleep(DEADLINE_MS + SLACK_MS + 15_000)]);
    const silentFor = Date.now() - silentSince;
    const wasCut = socket.destroyed;
    socket.destroy();
    return { wasCut, silentFor };
  }

  t.test('a raw upload that sends 4 MiB then goes silent is cut off and leaves nothing behind', async (t) => {
    const before = await storageState(server, db);
    const { wasCut, silentFor } = await goSilent('silent.bin', randomContent(4 * MiB));
    t.ok(wasCut, `the server closed the connection (${silentFor} ms of silence)`);
    t.ok(silentFor >= DEADLINE_MS - 100, 'not before the idle deadline');
    await assertNothingLeft(t, server, db, before, 'a stalled upload');
    t.same(await temporaryFiles(server.dataDir), [], 'no temporary file in DATA_DIR');
    t.equal((await alice.download('silent.bin')).status, 404);
  });

  t.test(
    'an upload silent from its first byte is given the whole idle deadline: its first check counts only the time since it began',
    async (t) => {
      // The checks run every tenth of the deadline; an upload that begins between two of them must not be charged a whole one.
      // The previous test ended at a check (the cut): begin a quarter, a half, three quarters of an interval after one.
      for (let round = 1; round <= 3; round++) {
        await sleep((round * DEADLINE_MS) / 40);
        const { wasCut, silentFor } = await goSilent(`silent-from-start-${round}.bin`, randomContent(1000));
        t.ok(wasCut, `the server closed the connection (${silentFor} ms of silence)`);
        t.ok(silentFor >= DEADLINE_MS, `not before the idle deadline (${silentFor} ms)`);
        t.ok(silentFor < DEADLINE_MS + SLACK_MS, 'soon after it');
      }
    },
  );

  t.test('a stall of the server itself is not the client falling silent: bytes sent meanwhile keep the upload alive', async (t) => {
    const content = randomContent(3 * MiB);
    const request = start(server.url, '/cloud/my-drive/?filename=stalled-server.bin', {
      authorization: `Bearer ${alice.token}`,
      'content-type': 'application/octet-stream',
      'content-length': content.length,
    });
    const answered = once(request, 'response').then(
      ([response]) => response as IncomingMessage,
      (error: Error) => error,
    );
    request.write(content.subarray(0, MiB));
    await sleep(300);
    // Into the kernel at once (the socket is connected and drained), unread until the loop runs again.
    request.write(content.subarray(MiB, MiB + 64 * 1024));
    // The server's event loop held longer than the idle deadline: a long collection, a blocked disk.
    const until = Date.now() + DEADLINE_MS + 700;
    while (Date.now() < until);
    await sleep(300);
    request.end(content.subarray(MiB + 64 * 1024));
    const response = await Promise.race([answered, sleep(20_000).then(() => new Error('no answer in 20 s'))]);
    if (response instanceof Error) return void t.fail(`the upload was cut: ${response.message}`);
    const reply = await replyOf(response);
    t.equal(reply.status, 201, JSON.stringify(reply.body));
    t.equal(reply.body.sha256, sha256Hex(content), 'every byte arrived');
  });

  t.test('an upload that keeps sending outlives the whole-request deadline: only silence cuts an upload off', async (t) => {
    const content = randomContent(2 * MiB + 3);
    const pieces = 8;
    const pieceBytes = Math.ceil(content.length / pieces);
    // About 3.5 s in all, with pauses well under the idle deadline.
    const slow = Readable.from(
      (async function* () {
        for (let offset = 0; offset < content.length; offset += pieceBytes) {
          yield content.subarray(offset, offset + pieceBytes);
          await sleep(DEADLINE_MS / 3);
        }
      })(),
    );
    const started = Date.now();
    const reply = await alice.upload('slow.bin', slow);
    t.equal(reply.status, 201, JSON.stringify(reply.body));
    t.equal(reply.body.sha256, sha256Hex(content), 'every byte arrived, in order');
    t.ok(Date.now() - started > DEADLINE_MS, `it took ${Date.now() - started} ms`);
  });
});
