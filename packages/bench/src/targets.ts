import type { CaseId, DatabaseKind } from './options.js';

/** Issue 10's targets, one row each (per database where our server's database matters). */

export interface TargetDefinition {
  id: string;
  caseId: CaseId;
  title: string;
  /** at-least: the measured value must reach the threshold; at-most: stay under it; report: no bar. */
  comparison: 'at-least' | 'at-most' | 'report';
  threshold: number;
  unit: '×' | 'MiB' | 'B/B';
  perDatabase: boolean;
}

const target = (
  id: string,
  caseId: CaseId,
  title: string,
  comparison: TargetDefinition['comparison'],
  threshold: number,
  unit: TargetDefinition['unit'] = '×',
  perDatabase = true,
): TargetDefinition => ({ id, caseId, title, comparison, threshold, unit, perDatabase });

export const TARGETS = {
  rawUpload: target('raw-upload-vs-node-1m', 'raw-upload', 'raw upload, big file, × node-1m PUT', 'at-least', 1.2),
  rawUploadNginx: target('raw-upload-vs-nginx', 'raw-upload', 'raw upload, big file, × nginx WebDAV PUT (reported)', 'report', 0),
  rawUploadPeers: target('raw-upload-vs-peers', 'raw-upload', 'raw upload, big file, × the fastest peer, until on disk', 'at-least', 1),
  multipartUpload: target('multipart-upload-vs-node-1m', 'multipart-upload', 'multipart upload, big file, × node-1m PUT', 'at-least', 0.8),
  multipartUploadPeers: target(
    'multipart-upload-vs-peers',
    'multipart-upload',
    'multipart upload, big file, × the fastest peer, until on disk',
    'at-least',
    1,
  ),
  download: target('download-vs-node-1m', 'download', 'download, big file, × node-1m GET', 'at-least', 0.9),
  cliPutNew: target('cli-put-new', 'cli', '`cloudstore put` new file ÷ (openssl hash + curl raw upload) time', 'at-most', 1.2, '×', false),
  cliPutDuplicate: target(
    'cli-put-duplicate',
    'cli',
    '`cloudstore put` duplicate ÷ openssl hash time, < 128 KiB sent',
    'at-most',
    1.1,
    '×',
    false,
  ),
  cliGet: target('cli-get', 'cli', '`cloudstore get` ÷ curl download time', 'at-most', 1.15, '×', false),
  smallDownload: target(
    'small-download-vs-hello',
    'small-requests',
    'authenticated 4 KiB download req/s × node:http hello JSON',
    'at-least',
    0.2,
  ),
  loginFlood: target(
    'small-download-login-flood',
    'login-flood',
    '4 KiB download median latency during a login flood (8 loops of valid logins) ÷ idle',
    'at-most',
    10,
  ),
  serverRss: target('server-rss', 'memory', 'server peak RSS above idle during big upload + download', 'at-most', 48, 'MiB'),
  stalledUploadsRss: target(
    'stalled-uploads-rss',
    'stalled-uploads',
    'server peak RSS above idle, 4 users × 64 uploads stalled after 1 MiB',
    'at-most',
    160,
    'MiB',
  ),
  stalledUploadsRssS3: target(
    'stalled-uploads-rss-s3',
    's3',
    'server peak RSS above idle, 4 users × 64 uploads stalled after 1 MiB, content on S3 (s3rver)',
    'at-most',
    160,
    'MiB',
    false,
  ),
  s3Upload: target(
    's3-upload-vs-sdk',
    's3',
    'raw upload to S3 through one instance, big file, × the AWS SDK multipart upload (lib-storage, 8 MiB parts, 4 in flight)',
    'at-least',
    0.8,
    '×',
    false,
  ),
  s3UploadTwo: target(
    's3-upload-two-vs-sdk',
    's3',
    'raw upload to S3 through two instances behind nginx (round robin), big file, × the AWS SDK multipart upload (lib-storage, 8 MiB parts, 4 in flight)',
    'at-least',
    0.8,
    '×',
    false,
  ),
  s3Download: target(
    's3-download-vs-sdk',
    's3',
    'download from S3 through one instance, big file, × AWS SDK GetObject',
    'at-least',
    0.8,
    '×',
    false,
  ),
  s3DownloadTwo: target(
    's3-download-two-vs-sdk',
    's3',
    'download from S3 through two instances behind nginx (round robin), big file, × AWS SDK GetObject',
    'at-least',
    0.8,
    '×',
    false,
  ),
  cliRss: target('cli-rss', 'cli', 'CLI peak RSS during put and get', 'at-most', 96, 'MiB', false),
  concurrent: target('concurrent-uploads', 'concurrent', 'concurrent uploads aggregate × single stream, no errors', 'at-least', 0.8),
  listing: target('listing-1m-vs-1k', 'listing', 'listing page time at the large count ÷ at the small count', 'at-most', 1.5),
  diskWrites: target('disk-bytes-per-byte', 'disk-writes', 'disk bytes written per uploaded byte', 'at-most', 1.05, 'B/B'),
  resumableOnePatch: target('resumable-one-patch', 'resumable', 'tus upload, big file, one PATCH × raw upload', 'at-least', 0.9),
  resumableEightPatches: target('resumable-eight-patches', 'resumable', 'tus upload, big file, 8 PATCHes × raw upload', 'at-least', 0.8),
  resumableCut: target('resumable-cut', 'resumable', 'tus upload cut at 50 % and resumed, time ÷ raw upload time', 'at-most', 1.6),
} as const;

export interface TargetVerdict {
  /** The definition's id, plus `:sqlite` or `:mariadb` when per database. */
  id: string;
  definition: TargetDefinition;
  database: DatabaseKind | null;
  /** The measured value (median of paired ratios, or MiB); null when not measured. */
  value: number | null;
  verdict: 'met' | 'missed' | 'reported' | 'not measured';
  /** How far from the bar, or why not measured. */
  margin: string;
  /** Where the ceiling was, the spread, what else was sent… */
  detail: string;
}

export function verdictId(definition: TargetDefinition, database: DatabaseKind | null): string {
  return definition.perDatabase && database ? `${definition.id}:${database}` : definition.id;
}

/** Judges a measured value against its definition; `extraCondition` false (with why) fails it too. */
export function judge(
  definition: TargetDefinition,
  database: DatabaseKind | null,
  value: number,
  detail: string,
  extraCondition: { holds: boolean; text: string } | null = null,
): TargetVerdict {
  const id = verdictId(definition, database);
  const unit = definition.unit === 'MiB' ? ' MiB' : definition.unit === '×' ? '×' : '';
  if (definition.comparison === 'report') return { id, definition, database, value, verdict: 'reported', margin: '—', detail };
  const isMet =
    (definition.comparison === 'at-least' ? value >= definition.threshold : value <= definition.threshold) &&
    (extraCondition?.holds ?? true);
  const difference = value - definition.threshold;
  const percent = (difference / definition.threshold) * 100;
  const sign = difference >= 0 ? '+' : '−';
  const digits = definition.unit === 'B/B' ? 3 : 2;
  let margin = `${sign}${Math.abs(difference).toFixed(digits)}${unit} (${sign}${Math.abs(percent).toFixed(0)} %)`;
  if (extraCondition && !extraCondition.holds) margin += `; ${extraCondition.text}`;
  return { id, definition, database, value, verdict: isMet ? 'met' : 'missed', margin, detail };
}

export function notMeasured(definition: TargetDefinition, database: DatabaseKind | null, reason: string): TargetVerdict {
  return { id: verdictId(definition, database), definition, database, value: null, verdict: 'not measured', margin: reason, detail: '' };
}

/** Every verdict a run of these cases must print: the quick tests check for each. */
export function expectedVerdictIds(databases: readonly DatabaseKind[], cases: readonly CaseId[]): string[] {
  return Object.values(TARGETS)
    .filter((definition) => cases.includes(definition.caseId))
    .flatMap((definition) => (definition.perDatabase ? databases.map((database) => verdictId(definition, database)) : [definition.id]));
}
