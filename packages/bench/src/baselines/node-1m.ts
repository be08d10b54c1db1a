import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { curlOnce, uploadArgs } from '../curl.js';
import { startServer, type ServerProcess } from '../subprocess.js';
import { checkedTransfer, type TransferSubject } from '../transfer-subject.js';

const SERVER_SCRIPT = fileURLToPath(new URL('./node-1m-server.js', import.meta.url));

export interface NodeBaseline {
  server: ServerProcess;
  subject: TransferSubject;
}

/** Starts node-1m (hashing) or its twin without hashing, each a process of its own. */
export async function startNode1m(runDirectory: string, isHashing: boolean): Promise<NodeBaseline> {
  const name = isHashing ? 'node-1m' : 'node-1m-nohash';
  const storeDirectory = path.join(runDirectory, name);
  await mkdir(storeDirectory, { recursive: true });
  const server = await startServer({
    label: name,
    command: process.execPath,
    args: [SERVER_SCRIPT],
    env: { ...process.env, STORE_DIR: storeDirectory, NODE_1M_HASH: isHashing ? '1' : '0', PORT: '0' },
    logFile: path.join(runDirectory, `${name}.log`),
  });
  const fileUrl = (fileName: string) => `${server.url}/files/${encodeURIComponent(fileName)}`;
  const subject: TransferSubject = {
    label: name,
    role: 'baseline',
    pid: server.pid,
    note: isHashing
      ? 'bare node:http PUT, 1 MiB buffers: inline SHA-256, 1 MiB coalesced writes, rename, no fsync; GET with 1 MiB reads'
      : 'node-1m without SHA-256',
    async upload(file, fileName) {
      const transfer = checkedTransfer(await curlOnce([...uploadArgs(file.path, 'PUT'), fileUrl(fileName)]), 'up', file.size);
      if (isHashing && (JSON.parse(transfer.body) as { sha256: string }).sha256 !== file.sha256) {
        throw new Error('node-1m computed another SHA-256 than the file has');
      }
      return transfer;
    },
    // Without hashing, GET is the same code: one download row (node-1m's) is enough.
    download: isHashing ? (fileName, output) => curlOnce(['-o', output, fileUrl(fileName)]) : undefined,
    async remove(fileName) {
      const response = await fetch(fileUrl(fileName), { method: 'DELETE' });
      await response.arrayBuffer();
    },
  };
  return { server, subject };
}
