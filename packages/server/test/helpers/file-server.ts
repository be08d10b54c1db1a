import type { DatabaseKind } from '@cloudstore/test-helpers';
import type { Knex } from 'knex';
import type { Test } from 'tap';
import type { Config } from '../../src/config.js';
import { startServer, type TestServer } from './build-app.js';
import { Client } from './client.js';
import { Drive } from './drive.js';
import { openServerDatabase } from './storage-state.js';

export interface FileServer {
  server: TestServer;
  client: Client;
  /** The server's database, opened beside it: to count rows and to age a challenge. */
  db: Knex;
  /** One drive per username given, in that order. */
  drives: Drive[];
}

/** The real app on `kind`, with its database at hand and `usernames` registered and logged in. */
export async function startFileServer(
  t: Test,
  kind: DatabaseKind,
  usernames: string[],
  overrides: Partial<Config> = {},
): Promise<FileServer> {
  const server = await startServer(t, kind, overrides);
  const client = new Client(server.url);
  const db = await openServerDatabase(t, server);
  const drives: Drive[] = [];
  for (const username of usernames) drives.push(await Drive.register(client, username));
  return { server, client, db, drives };
}
