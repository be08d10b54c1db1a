import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { WRITE_BLOCK_BYTES, type SlabSink } from './slab-writer.js';

/**
 * O_DIRECT wants the buffer, the file position and the length on a boundary of the device's
 * logical block size (at most a page on the disks we know): the slab writer's block.
 */
const isAligned = (...values: number[]) => values.every((value) => value % WRITE_BLOCK_BYTES === 0);

/**
 * A sink that writes slabs to `file` with O_DIRECT, straight from the slab to the disk, through
 * a second descriptor of the same file, whenever the slab's length is whole blocks (every slab
 * but the last: the slab writer keeps positions on the block boundary); the rest goes through
 * `handle`, the page cache. Measured on the upload path (issue 18): the copy of every byte into
 * the page cache was the server's biggest cost (the libuv threads' copy_folio_from_iter_atomic,
 * half of its CPU time), and the final fsync then waited for all the dirty pages; direct writes
 * reach the disk while the body still arrives. The file is fsynced through `handle` as before:
 * that covers both.
 *
 * Where O_DIRECT is refused (a file system without it, memory not on a page boundary), every
 * write goes through `handle`. Call `close` once the writes are done.
 */
export async function directSink(file: string, handle: FileHandle, isPageAligned: boolean): Promise<SlabSink & { close(): Promise<void> }> {
  let direct = isPageAligned && constants.O_DIRECT !== undefined ? await openDirect(file) : null;
  return {
    async write(buffer, offset, length, position) {
      const through = direct;
      if (through && isAligned(offset, length, position)) {
        try {
          return await through.write(buffer, offset, length, position);
        } catch (error) {
          // An alignment this device does not take: the page cache for the rest of this file.
          if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
          if (direct === through) {
            direct = null;
            await through.close();
          }
        }
      }
      return handle.write(buffer, offset, length, position);
    },
    async close() {
      await direct?.close();
      direct = null;
    },
  };
}

async function openDirect(file: string): Promise<FileHandle | null> {
  try {
    return await open(file, constants.O_WRONLY | constants.O_DIRECT);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EINVAL') return null;
    throw error;
  }
}
