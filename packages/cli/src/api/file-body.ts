import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IO_CHUNK_BYTES } from '@cloudstore/shared/limits';
import { CliError, EXIT } from '../errors.js';
import { watchChunks } from '../local/watch-chunks.js';
import type { Progress } from '../terminal/progress.js';

/**
 * Runs `send` with a request body that streams the file from `start` to its end, counted on
 * `progress`. A file that changed size meanwhile no longer fits the Content-Length sent:
 * that is said as such, not as a network failure.
 */
export async function withFileBody<T>(
  file: { path: string; start: number },
  progress: Progress,
  send: (body: Readable) => Promise<T>,
): Promise<T> {
  const source = createReadStream(file.path, { start: file.start, highWaterMark: IO_CHUNK_BYTES });
  const body = watchChunks((chunk) => progress.advance(chunk.length));
  // The request consumes `body`; a read error of the file reaches it through the pipeline.
  pipeline(source, body).catch(() => {});
  try {
    return await send(body);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') {
      throw new CliError('FILE_CHANGED', 'the file changed size while it was being uploaded; nothing was stored', EXIT.failure);
    }
    throw error;
  } finally {
    source.destroy();
  }
}
