import { open } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Test } from 'tap';
import { buildApp } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import type { ScrubEvent } from '../../src/services/scrub.js';
import type { TestServer } from './build-app.js';
import { sha256Hex } from './content.js';

/**
 * A scrub that reads each content once (the default interval of 30 days), looking for new content
 * every 50 ms. The tests upload with the scrub off (their default), then start an instance with it.
 */
export const scrubOnce = (bytesPerSecond: number): Partial<Config> => ({ scrubBytesPerSecond: bytesPerSecond, scrubIdlePollMs: 50 });

/** Every `scrubbed` event of `server`'s background scrub from now on. */
export function scrubEvents(server: TestServer): ScrubEvent[] {
  return followScrub(server.app);
}

function followScrub(app: FastifyInstance): ScrubEvent[] {
  const events: ScrubEvent[] = [];
  app.scrubber.on('scrubbed', (event) => events.push(event));
  return events;
}

/** Another instance on `server`'s data and database, serving nothing, whose scrub is followed from its very start. */
export async function startScrubber(
  t: Test,
  server: TestServer,
  overrides: Partial<Config>,
): Promise<{ app: FastifyInstance; events: ScrubEvent[] }> {
  const app = await buildApp({ ...server.config, ...overrides });
  t.teardown(() => app.close());
  const events = followScrub(app);
  // The scrub starts when the app is ready.
  await app.ready();
  return { app, events };
}

/** Flips one byte in the middle of the file store's copy of `content`, as a failing disk would. */
export async function corruptOnDisk(server: TestServer, content: Buffer): Promise<void> {
  const sha256 = sha256Hex(content);
  const file = await open(path.join(server.dataDir, 'blobs', sha256.slice(0, 2), sha256.slice(2, 4), sha256), 'r+');
  try {
    const middle = Math.floor(content.length / 2);
    await file.write(Buffer.from([content[middle] ^ 0xff]), 0, 1, middle);
  } finally {
    await file.close();
  }
}
