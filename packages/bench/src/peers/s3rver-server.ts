import { createRequire } from 'node:module';

/**
 * Peer: s3rver, the S3 look-alike people run for development, with one bucket `bench`. PUT
 * and GET of objects without signatures, which it accepts. It computes MD5 (S3's ETag) and
 * never fsyncs. Run as its own process with STORE_DIR.
 */

/** The part of s3rver's API used here: it ships no types. */
interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: {
  port: number;
  address: string;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string; configs: string[] }[];
}) => S3rverInstance;

const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
const instance = new S3rver({
  port: 0,
  address: '127.0.0.1',
  directory: process.env.STORE_DIR ?? process.cwd(),
  silent: true,
  configureBuckets: [{ name: 'bench', configs: [] }],
});
const { port } = await instance.run();
process.stdout.write(`Server listening at http://127.0.0.1:${port}\n`);
process.on('SIGTERM', () => {
  instance.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
