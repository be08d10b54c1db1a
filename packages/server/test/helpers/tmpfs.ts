import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';

const run = promisify(execFile);

/**
 * A fresh tmpfs of `sizeMiB` (a disk that fills up for real), unmounted when `t` ends; or the
 * reason it could not be mounted (not root, no CAP_SYS_ADMIN in this container).
 */
export async function mountTmpfs(t: Test, sizeMiB: number): Promise<{ directory: string } | { refused: string }> {
  const directory = await mkdtemp(path.join(tmpdir(), 'cloudstore-tmpfs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0700`, 'tmpfs', directory]);
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    return { refused: `mount -t tmpfs was refused: ${String((error as { stderr?: string }).stderr ?? error).trim()}` };
  }
  t.teardown(async () => {
    await run('umount', [directory]);
    await rm(directory, { recursive: true, force: true });
  });
  return { directory };
}
