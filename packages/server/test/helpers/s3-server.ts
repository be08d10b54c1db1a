import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import type { Test } from 'tap';
import type { BlobStoreConfig } from '../../src/config.js';

/** An S3 endpoint the tests talk to, with credentials it accepts. */
export interface S3Endpoint {
  /** 's3rver' or 'ceph-rgw': which engine answers. */
  engine: string;
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** s3rver (a Node S3 double) on loopback, its files in a temporary folder; stopped when `t` ends. */
export async function startS3rver(t: Test): Promise<S3Endpoint> {
  const directory = await mkdtemp(path.join(tmpdir(), 'cloudstore-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const { port } = await server.run();
  t.teardown(async () => {
    await server.close();
    await rm(directory, { recursive: true, force: true });
  });
  // s3rver's one built-in account.
  return { engine: 's3rver', url: `http://127.0.0.1:${port}`, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
}

/** An SDK client for `endpoint`, as the server configures its own (store/s3-client.ts). */
export function s3Client(t: Test, endpoint: S3Endpoint, url = endpoint.url): S3Client {
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: url,
    forcePathStyle: true,
    credentials: { accessKeyId: endpoint.accessKeyId, secretAccessKey: endpoint.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    expectContinueHeader: false,
  });
  t.teardown(() => client.destroy());
  return client;
}

/** A new bucket of its own on `endpoint`. */
export async function createBucket(t: Test, endpoint: S3Endpoint): Promise<string> {
  const bucket = `cloudstore-test-${randomBytes(6).toString('hex')}`;
  await s3Client(t, endpoint).send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/** The server's BLOB_STORE settings for `bucket` behind `url` (the endpoint itself, or a proxy in front of it). */
export function s3StoreConfig(endpoint: S3Endpoint, bucket: string, url = endpoint.url, prefix = 'content/'): BlobStoreConfig {
  return {
    kind: 's3',
    bucket,
    prefix,
    region: 'us-east-1',
    endpoint: url,
    forcePathStyle: true,
    credentials: { accessKeyId: endpoint.accessKeyId, secretAccessKey: endpoint.secretAccessKey },
  };
}
