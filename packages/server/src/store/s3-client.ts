import { S3Client } from '@aws-sdk/client-s3';
import type { BlobStoreConfig } from '../config.js';

/** A connection that does not open in this time means the store is unreachable (503), not slow. */
const CONNECT_TIMEOUT_MS = 3000;
/** A socket silent for this long is dead; a streaming download keeps it busy. */
const SOCKET_TIMEOUT_MS = 30_000;

/** An SDK client for BLOB_STORE=s3://…, speaking only what every S3 engine understands. */
export function createS3Client(settings: Extract<BlobStoreConfig, { kind: 's3' }>): S3Client {
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint ?? undefined,
    forcePathStyle: settings.forcePathStyle,
    credentials: settings.credentials ?? undefined,
    // Only what every engine serves: the SDK's newer CRC checksums (and the aws-chunked bodies
    // that carry them) are unknown to Ceph RGW 16 and others. SigV4 still covers the bytes.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // With Expect: 100-continue the SDK opens a fresh connection for each body and waits up to
    // a second for an answer that some engines never send; our bodies are parts we just read.
    expectContinueHeader: false,
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, requestTimeout: SOCKET_TIMEOUT_MS },
  });
}
