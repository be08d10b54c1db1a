import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { BenchContext } from '../bench-context.js';
import type { Transfer } from '../curl.js';
import { median, pairedRatios, stopwatch } from '../measure.js';
import type { DatabaseKind } from '../options.js';
import { startNginxBalancer, type NginxBalancer } from '../nginx-balancer.js';
import { startS3rver } from '../peers/peer-subjects.js';
import { formatSize, MiB } from '../plan.js';
import { mariadbUnavailableReason } from '../servers/mariadb.js';
import { CloudStore, s3Settings } from '../servers/cloudstore.js';
import { prefault, testFile } from '../test-files.js';
import { TARGETS, judge, notMeasured, type TargetDefinition } from '../targets.js';
import { checkedTransfer, type TransferSubject } from '../transfer-subject.js';
import { measureStalled, stalledPerUser, stalledTable, USERS } from './stalled-uploads.js';
import { measureVariants, record, type SizeResult } from './transfers.js';

/**
 * Content on S3 (API.md, "Storage and several instances"): s3rver on loopback, started by the
 * bench; our server stores on it, and the AWS SDK talks to it directly (lib-storage's Upload of
 * the file, GetObject to /dev/null) in the harness process, the baseline. Ours through curl: one instance,
 * then two instances of one service (MariaDB) behind nginx as docs/DEPLOY.md ships it (round
 * robin, each request to the next instance; TLS left out, as the baseline has none).
 */

const SDK_LABEL = 'AWS SDK → s3rver';
/** Our server's part size (store/s3-upload.ts): the SDK baseline sends a big file in parts as large. */
const PART_BYTES = 8 * MiB;
/** lib-storage's default: parts of one upload in flight at once. */
const SDK_QUEUE_SIZE = 4;

/**
 * A file as a script would send it with the SDK alone: lib-storage's Upload, which sends one
 * PutObject up to a part and otherwise parts of 8 MiB, four in flight (its default queueSize).
 */
async function sdkPut(client: S3Client, key: string, path: string): Promise<void> {
  await new Upload({
    client,
    params: { Bucket: 'bench', Key: key, Body: createReadStream(path) },
    partSize: PART_BYTES,
    queueSize: SDK_QUEUE_SIZE,
  }).done();
}

function sdkSubject(url: string, s3rverPid: number): { subject: TransferSubject; client: S3Client } {
  // The SDK's multi-line notice that it will need Node 22 from 2027, on the harness's stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: url,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    // As our server's client does (store/s3-client.ts): no CRC32 of the body on top of s3rver's MD5.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    expectContinueHeader: false,
  });
  const key = (name: string) => `sdk/${name}`;
  const done = (seconds: number, up: number, down: number): Transfer => ({ status: 200, seconds, bytesUp: up, bytesDown: down, body: '' });
  return {
    client,
    subject: {
      label: SDK_LABEL,
      role: 'baseline',
      pid: s3rverPid,
      note:
        'in the harness process: lib-storage Upload (PutObject up to 8 MiB, else 8 MiB parts, 4 in flight); ' +
        'GetObject to /dev/null; no digest checked, nothing recorded',
      async upload(file, name) {
        const elapsed = stopwatch();
        await sdkPut(client, key(name), file.path);
        return done(elapsed(), file.size, 0);
      },
      async download(name, output) {
        const elapsed = stopwatch();
        const object = await client.send(new GetObjectCommand({ Bucket: 'bench', Key: key(name) }));
        let bytes = 0;
        const body = object.Body as Readable;
        body.on('data', (chunk: Buffer) => (bytes += chunk.length));
        await pipeline(body, createWriteStream(output));
        return done(elapsed(), 0, bytes);
      },
      async remove(name) {
        await client.send(new DeleteObjectCommand({ Bucket: 'bench', Key: key(name) }));
      },
    },
  };
}

/** The stalled-uploads case on S3: 256 uploads in flight (fewer in a quick run), each stalled after 1 MiB. */
async function stalledOnS3(context: BenchContext, store: CloudStore): Promise<void> {
  const perUser = stalledPerUser(context);
  context.progress(`S3: ${USERS * perUser} stalled uploads`);
  // No temporary file to see on S3: an upload is in flight while its socket is open and unanswered.
  const { idle, peak, inFlight } = await measureStalled(store, perUser, stalledTable(perUser), context, null, ' on S3', 's3');
  context.results.judge(
    judge(
      TARGETS.stalledUploadsRssS3,
      null,
      peak - idle,
      `${USERS * perUser} uploads, ${inFlight} unanswered at the end; idle ${idle.toFixed(1)} MiB, peak ${peak.toFixed(1)} MiB`,
      { holds: inFlight === USERS * perUser, text: `only ${inFlight} of ${USERS * perUser} uploads were in flight` },
    ),
  );
}

function ourSubject(store: CloudStore, label: string, note: string): TransferSubject {
  return { ...store.rawSubject(), label, note };
}

export async function runS3(context: BenchContext): Promise<void> {
  const s3rver = await startS3rver(context.runDirectory);
  const { subject: sdk, client } = sdkSubject(s3rver.server.url, s3rver.server.pid);
  const stores: CloudStore[] = [];
  let proxy: NginxBalancer | null = null;
  try {
    // Two instances share one database: MariaDB. Without it, one instance on SQLite; and in a
    // quick run too, which must stay cheap (one server start fewer).
    const whyOne = context.plan.quick
      ? 'quick run: one instance only'
      : !context.options.databases.includes('mariadb')
        ? 'two instances need MariaDB, not selected'
        : await mariadbUnavailableReason();
    const database: DatabaseKind = whyOne === null ? 'mariadb' : 'sqlite';
    // The token key is shared, as every instance of one service must share it.
    const env = { ...s3Settings(s3rver.server.url, 'cloudstore'), JWT_SECRET: randomBytes(48).toString('base64url') };
    context.progress(`S3: our server on s3rver (${database})`);
    const first = await CloudStore.start({ runDirectory: context.runDirectory, database, instance: 's3-a', env });
    stores.push(first);
    const subjects = [ourSubject(first, `cloudstore on S3, 1 instance (${first.label})`, `raw route, SHA-256 verified, on ${first.label}`)];
    let whyNotTwo = whyOne;
    if (whyNotTwo === null) {
      const second = await CloudStore.start({ runDirectory: context.runDirectory, database, instance: 's3-b', env, shared: first });
      stores.push(second);
      const balancer = await startNginxBalancer([first.url, second.url], context.runDirectory);
      if ('missing' in balancer) whyNotTwo = balancer.missing;
      else {
        proxy = balancer;
        subjects.push({
          ...ourSubject(
            first.via(proxy.url),
            `cloudstore on S3, 2 instances + nginx (${first.label})`,
            'each request (and delete) to the next instance, through docs/deploy/nginx.conf without TLS',
          ),
          pid: null,
        });
      }
    }
    if (whyNotTwo !== null) {
      for (const definition of [TARGETS.s3UploadTwo, TARGETS.s3DownloadTwo]) {
        context.results.judge(notMeasured(definition, null, whyNotTwo));
      }
    }
    const all = [...subjects, sdk];
    const sizes = context.plan.s3Sizes;
    for (const size of sizes) {
      const file = await testFile('payload', size);
      await prefault(file);
      const repetitions = context.plan.repetitions(size);
      const isBig = size === sizes[sizes.length - 1];
      for (const subject of all) {
        await subject.upload(file, 'warmup').catch(() => {});
        await subject.remove('warmup').catch(() => {});
      }
      context.progress(`S3 upload ${formatSize(size)}: ${all.length} subjects × ${repetitions}`);
      const name = (repetition: number) => `s3-${size}-${repetition}`;
      const rate = (seconds: number) => size / MiB / seconds;
      const uploads = await measureVariants(
        context,
        repetitions,
        all,
        async (subject, repetition) => rate((await subject.upload(file, name(repetition))).seconds),
        (subject, repetition) => subject.remove(name(repetition)),
      );
      record(context, () => 's3', `S3 upload, ${formatSize(size)}`, all, uploads);
      const stored = `s3-down-${size}`;
      for (const subject of all) {
        await subject.upload(file, stored);
        checkedTransfer(await subject.download!(stored, '/dev/null'), 'down', size);
      }
      context.progress(`S3 download ${formatSize(size)}: ${all.length} subjects × ${repetitions}`);
      const downloads = await measureVariants(context, repetitions, all, async (subject) =>
        rate(checkedTransfer(await subject.download!(stored, '/dev/null'), 'down', size).seconds),
      );
      record(context, () => 's3', `S3 download, ${formatSize(size)}`, all, downloads);
      for (const subject of all) await subject.remove(stored).catch(() => {});
      if (!isBig) continue;
      const requests = proxy ? `; requests per instance ${(await proxy.requests()).join(' / ')}` : '';
      const verdict = (result: SizeResult, ours: TransferSubject | undefined, definition: TargetDefinition) => {
        if (!ours) return;
        const ratios = pairedRatios(result.samples.get(ours.label)!.samples, result.samples.get(SDK_LABEL)!.samples);
        if (ratios.length === 0) return;
        const spread = `${formatSize(size)}, ${ratios.length} pairs, ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}×`;
        context.results.judge(judge(definition, null, median(ratios), spread + (ours === subjects[1] ? requests : '')));
      };
      verdict(uploads, subjects[0], TARGETS.s3Upload);
      verdict(uploads, subjects[1], TARGETS.s3UploadTwo);
      verdict(downloads, subjects[0], TARGETS.s3Download);
      verdict(downloads, subjects[1], TARGETS.s3DownloadTwo);
    }
    await stalledOnS3(context, first);
  } finally {
    context.progress('S3: stopping');
    client.destroy();
    await proxy?.close();
    context.progress('S3: nginx stopped');
    for (const store of stores.reverse()) {
      await store.stop().catch(() => {});
      context.progress(`S3: stopped ${store.server.label}`);
    }
    await s3rver.server.stop();
    context.progress('S3: stopped s3rver');
  }
}
