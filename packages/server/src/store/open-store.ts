import { S3Client } from '@aws-sdk/client-s3';
import type { Knex } from 'knex';
import type { BlobStoreConfig } from '../config.js';
import type { BlobStore } from './blob-store.js';
import { FsBlobStore } from './fs-store.js';
import { S3BlobStore } from './s3-store.js';

/** A connection that does not open in this time means the store is unreachable (503), not slow. */
const CONNECT_TIMEOUT_MS = 3000;
/** A socket silent for this long is dead; a streaming download keeps it busy. */
const SOCKET_TIMEOUT_MS = 30_000;

/** The store BLOB_STORE names, ready for use; refuses (one line) when it cannot be used. */
export async function openBlobStore(config: { dataDir: string; blobStore?: BlobStoreConfig }, db: Knex): Promise<BlobStore> {
  const chosen = config.blobStore ?? { kind: 'file' };
  if (chosen.kind === 'file') {
    const store = new FsBlobStore(config.dataDir);
    await store.init();
    return store;
  }
  const client = new S3Client({
    region: chosen.region,
    endpoint: chosen.endpoint ?? undefined,
    forcePathStyle: chosen.forcePathStyle,
    credentials: chosen.credentials ?? undefined,
    // Only what every engine serves: the SDK's newer CRC checksums (and the aws-chunked bodies
    // that carry them) are unknown to Ceph RGW 16 and others. SigV4 still covers the bytes.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // With Expect: 100-continue the SDK opens a fresh connection for each body and waits up to
    // a second for an answer that some engines never send; our bodies are parts we just read.
    expectContinueHeader: false,
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, requestTimeout: SOCKET_TIMEOUT_MS },
  });
  const store = new S3BlobStore({ client, bucket: chosen.bucket, prefix: chosen.prefix, db });
  try {
    await store.init();
  } catch (error) {
    client.destroy();
    throw error;
  }
  return store;
}
