import type { Readable } from 'node:stream';

/**
 * Reads `source` to its end in flowing mode, handing each chunk to `onChunk`; while a promise
 * that `onChunk` returns is pending, the source is paused. Resolves at the end of the source;
 * rejects with the source's error, with an error of its own when the source closes before its
 * end, or with what `onChunk` throws or rejects with (the source is left paused then, its rest
 * unread: the error handler answers with `connection: close`). It settles only once no
 * `onChunk` is pending.
 *
 * Not `for await`: that costs a promise and a few microtasks per chunk (16,384 chunks a GiB
 * from a socket), and when several chunks wait it joins them (Buffer.concat, one more copy).
 * Measured on the upload path (issue 18).
 */
export function consumeStream(source: Readable, onChunk: (chunk: Buffer) => void | Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending: Promise<void> | null = null;
    let isEnded = false;
    let isSettled = false;

    const stop = () => {
      isSettled = true;
      source.removeListener('data', onData);
      source.removeListener('end', onEnd);
      source.removeListener('error', onError);
      source.removeListener('close', onClose);
    };
    const fail = (error: unknown, isOurs: boolean) => {
      if (isSettled) return;
      stop();
      // Without a 'data' listener a flowing stream would go on reading into the void.
      if (isOurs) source.pause();
      // Whatever `onChunk` is still doing finishes first: the caller cleans up after it.
      void (pending ?? Promise.resolve()).then(
        () => reject(error),
        () => reject(error),
      );
    };
    const finish = () => {
      if (isSettled) return;
      stop();
      resolve();
    };
    const onData = (chunk: Buffer) => {
      let next: void | Promise<void>;
      try {
        next = onChunk(chunk);
      } catch (error) {
        return fail(error, true);
      }
      if (!next) return;
      source.pause();
      const waited: Promise<void> = next.then(
        () => {
          pending = null;
          if (isSettled) return;
          if (isEnded) finish();
          else source.resume();
        },
        (error: unknown) => {
          pending = null;
          fail(error, true);
        },
      );
      pending = waited;
    };
    const onEnd = () => {
      isEnded = true;
      if (!pending) finish();
    };
    const onError = (error: Error) => fail(error, false);
    const onClose = () => {
      if (!isEnded) fail(source.errored ?? new Error('the upload stream closed before its end'), false);
    };

    if (source.readableEnded) return resolve();
    if (source.destroyed) return reject(source.errored ?? new Error('the upload stream closed before its end'));
    source.on('data', onData);
    source.once('end', onEnd);
    source.once('error', onError);
    source.once('close', onClose);
    // Paused by someone before: a 'data' listener alone would not start the flow.
    source.resume();
  });
}
