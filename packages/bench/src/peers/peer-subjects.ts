import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { curlOnce, uploadArgs } from '../curl.js';
import { startServer, type ServerProcess } from '../subprocess.js';
import { checkedTransfer, type TransferSubject } from '../transfer-subject.js';

/** The servers a user would otherwise run, each started as a process of its own, and how curl talks to each. */

export interface Peer {
  server: ServerProcess;
  subject: TransferSubject;
}

/** Read from node_modules directly: some of these packages do not export their package.json. */
function versionOf(name: string): string {
  const manifest = fileURLToPath(new URL(`../../../node_modules/${name}/package.json`, import.meta.url));
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

async function startPeer(runDirectory: string, name: string, script: string, env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const storeDirectory = path.join(runDirectory, name);
  await mkdir(storeDirectory, { recursive: true });
  return startServer({
    label: name,
    command: process.execPath,
    args: [fileURLToPath(new URL(script, import.meta.url))],
    env: { ...process.env, ...env, STORE_DIR: storeDirectory },
    logFile: path.join(runDirectory, `${name}.log`),
  });
}

async function deleteRequest(url: string, headers: Record<string, string> = {}): Promise<void> {
  const response = await fetch(url, { method: 'DELETE', headers });
  await response.arrayBuffer();
}

export async function startTus(runDirectory: string): Promise<Peer> {
  const server = await startPeer(runDirectory, 'tus', './tus-server.js');
  const fileUrl = (name: string) => `${server.url}/files/${encodeURIComponent(name)}`;
  const tusHeaders = { 'tus-resumable': '1.0.0' };
  return {
    server,
    subject: {
      label: `tus (@tus/server ${versionOf('@tus/server')})`,
      role: 'peer',
      pid: server.pid,
      note: `@tus/server ${versionOf('@tus/server')} + @tus/file-store ${versionOf('@tus/file-store')}, creation-with-upload: no hashing, no fsync`,
      async upload(file, name) {
        const headers = {
          ...tusHeaders,
          'upload-length': String(file.size),
          'upload-metadata': `filename ${Buffer.from(name).toString('base64')}`,
          'content-type': 'application/offset+octet-stream',
        };
        return checkedTransfer(await curlOnce([...uploadArgs(file.path, 'POST', headers), `${server.url}/files`]), 'up', file.size);
      },
      async download(name, output) {
        return curlOnce(['-o', output, fileUrl(name)]);
      },
      remove: (name) => deleteRequest(fileUrl(name), tusHeaders),
    },
  };
}

export async function startExpressMulter(runDirectory: string, isHashing: boolean): Promise<Peer> {
  const name = isHashing ? 'multer-sha256' : 'multer';
  const server = await startPeer(runDirectory, name, './express-multer-server.js', { MULTER_HASH: isHashing ? '1' : '0' });
  const fileUrl = (fileName: string) => `${server.url}/files/${encodeURIComponent(fileName)}`;
  const versions = `express ${versionOf('express')} + multer ${versionOf('multer')}`;
  return {
    server,
    subject: {
      label: isHashing ? 'Express + multer + SHA-256' : 'Express + multer',
      role: 'peer',
      pid: server.pid,
      note: isHashing
        ? `${versions}, a storage engine hashing while it pipes to disk: no fsync`
        : `${versions} diskStorage: no hashing, no fsync; GET with res.sendFile`,
      async upload(file, fileName) {
        const transfer = await curlOnce(['-F', `file=@${file.path};filename=${fileName}`, `${server.url}/files`]);
        const reply = JSON.parse(transfer.body) as { size: number; sha256: string | null };
        if (reply.size !== file.size) throw new Error(`multer stored ${reply.size} bytes of ${file.size}`);
        if (isHashing && reply.sha256 !== file.sha256) throw new Error('multer + SHA-256 computed another digest than the file has');
        return transfer;
      },
      // The hashing twin serves files with the same code: one download row is enough.
      download: isHashing ? undefined : (fileName, output) => curlOnce(['-o', output, fileUrl(fileName)]),
      remove: (fileName) => deleteRequest(fileUrl(fileName)),
    },
  };
}

export async function startS3rver(runDirectory: string): Promise<Peer> {
  const server = await startPeer(runDirectory, 's3rver', './s3rver-server.js');
  const objectUrl = (name: string) => `${server.url}/bench/${encodeURIComponent(name)}`;
  return {
    server,
    subject: {
      label: `s3rver ${versionOf('s3rver')}`,
      role: 'peer',
      pid: server.pid,
      note: `s3rver ${versionOf('s3rver')} PutObject/GetObject, unsigned: MD5 inline, no fsync`,
      async upload(file, name) {
        return checkedTransfer(await curlOnce([...uploadArgs(file.path, 'PUT'), objectUrl(name)]), 'up', file.size);
      },
      async download(name, output) {
        return curlOnce(['-o', output, objectUrl(name)]);
      },
      remove: (name) => deleteRequest(objectUrl(name)),
    },
  };
}
