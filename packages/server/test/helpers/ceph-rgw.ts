import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import type { S3Endpoint } from './s3-server.js';

const run = promisify(execFile);
/** The script lives beside this file's source; tests run from dist/test/helpers. */
const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/helpers/ceph-rgw.sh');
const START_TIMEOUT_MS = 120_000;

/** A port whose successor was free a moment ago too (the script puts the monitor there). */
async function freePortPair(): Promise<number> {
  for (;;) {
    const server = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    server.close();
    const next = net.createServer().listen(port + 1, '127.0.0.1');
    const isFree = await new Promise<boolean>((resolve) => {
      next.once('listening', () => resolve(true));
      next.once('error', () => resolve(false));
    });
    next.close();
    if (isFree && port < 65535) return port;
  }
}

/**
 * Ceph RGW 16 (Debian's radosgw, ceph-mon, ceph-osd) as a one-node cluster on loopback, its
 * state in a temporary folder, stopped and removed when `t` ends (or, should this process be
 * killed first, by the script's watchdog). `{ skip }` says why when it cannot run.
 */
export async function startCephRgw(t: Test): Promise<S3Endpoint | { skip: string }> {
  let failure = '';
  // A second try on other ports: the pair found free may be taken before the daemons bind it.
  for (let attempt = 1; attempt <= 2; attempt++) {
    const directory = await mkdtemp(path.join(tmpdir(), 'cloudstore-ceph-'));
    const port = await freePortPair();
    t.teardown(async () => {
      await run(SCRIPT, ['stop', directory]).catch(() => {});
      await rm(directory, { recursive: true, force: true });
    });
    try {
      const { stdout } = await run(SCRIPT, ['start', directory, String(port), String(process.pid)], { timeout: START_TIMEOUT_MS });
      const [accessKeyId, secretAccessKey] = stdout.trim().split(' ');
      return { engine: 'ceph-rgw', url: `http://127.0.0.1:${port}`, accessKeyId, secretAccessKey };
    } catch (error) {
      const { code, stderr } = error as { code?: number; stderr?: string };
      if (code === 2) return { skip: `Ceph RGW is not installed (${stderr?.trim()})` };
      failure = stderr?.trim() || String(error);
      await run(SCRIPT, ['stop', directory]).catch(() => {});
    }
  }
  throw new Error(`Ceph RGW did not start: ${failure}`);
}
