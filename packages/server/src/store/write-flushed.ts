import type { Writable } from 'node:stream';

/** Resolves once `chunk` has left for the socket, rejects if the destination closes before. */
export function writeFlushed(destination: Writable, chunk: Buffer): Promise<void> {
  if (destination.destroyed) return Promise.reject(new Error('the client went away'));
  return new Promise((resolve, reject) => {
    const onClose = () => reject(new Error('the client went away'));
    destination.once('close', onClose);
    destination.write(chunk, (error) => {
      destination.removeListener('close', onClose);
      if (error) reject(error);
      else resolve();
    });
  });
}
