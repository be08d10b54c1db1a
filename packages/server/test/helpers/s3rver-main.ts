import S3rver from 's3rver';

/** `node --openssl-legacy-provider s3rver-main.js DIRECTORY`: s3rver on a loopback port (s3rver-process.ts). */
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: process.argv[2] });
const { port } = await server.run();
process.stdout.write(`listening ${port}\n`);
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
