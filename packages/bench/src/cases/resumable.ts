import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import http from 'node:http';
import type { BenchContext } from '../bench-context.js';
import { interleave, median, pairedRatios, stopwatch, type Variant } from '../measure.js';
import { formatSize, MiB } from '../plan.js';
import type { CloudStore } from '../servers/cloudstore.js';
import { mustRun } from '../subprocess.js';
import { TARGETS, judge } from '../targets.js';
import { prefault, testFile, type TestFile } from '../test-files.js';

/**
 * Resumable uploads (tus) against the raw route, both sent by the same Node client streaming
 * the file from disk: one PATCH, eight PATCHes, and one PATCH cut at half the file (its socket
 * destroyed) then resumed from the offset HEAD gives. Rates in MiB/s; the cut one is judged by
 * its time over the raw upload's.
 */

const TUS = { 'tus-resumable': '1.0.0' };
const PATCHES = 8;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
}

/** Sends bytes [start, end) of `file` as the body (none when start = end), or only up to `cutAt`, then drops the connection. */
async function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  file: TestFile,
  start: number,
  end: number,
  cutAt?: number,
): Promise<Answer | null> {
  const request = http.request(url, { method, agent: false, headers: { ...headers, 'content-length': String(end - start) } });
  request.on('error', () => {});
  const answered = once(request, 'response') as Promise<[http.IncomingMessage]>;
  answered.catch(() => {});
  const last = cutAt ?? end;
  if (last > start) {
    for await (const chunk of createReadStream(file.path, { start, end: last - 1, highWaterMark: MiB })) {
      if (!request.write(chunk)) await once(request, 'drain');
    }
  }
  if (cutAt !== undefined) {
    request.destroy();
    return null;
  }
  request.end();
  const [response] = await answered;
  response.resume();
  await once(response, 'end');
  return { status: response.statusCode ?? 0, headers: response.headers };
}

function expect(answer: Answer | null, status: number, what: string): Answer {
  if (answer?.status !== status) throw new Error(`${what} answered ${answer?.status ?? 'nothing'}`);
  return answer;
}

async function create(store: CloudStore, file: TestFile, name: string): Promise<string> {
  const metadata = `filename ${Buffer.from(name).toString('base64')},sha256 ${Buffer.from(file.sha256).toString('base64')}`;
  const answer = await send(
    `${store.url}/cloud/uploads/`,
    'POST',
    { ...store.authorization, ...TUS, 'upload-length': String(file.size), 'upload-metadata': metadata },
    file,
    0,
    0,
  );
  return store.url + String(expect(answer, 201, 'tus creation').headers.location);
}

async function patch(
  store: CloudStore,
  location: string,
  file: TestFile,
  start: number,
  end: number,
  cutAt?: number,
): Promise<Answer | null> {
  const headers = { ...store.authorization, ...TUS, 'content-type': 'application/offset+octet-stream', 'upload-offset': String(start) };
  return send(location, 'PATCH', headers, file, start, end, cutAt);
}

/** The upload in `pieces` PATCHes; returns MiB/s, creation included. */
async function tusUpload(store: CloudStore, file: TestFile, name: string, pieces: number): Promise<number> {
  const elapsed = stopwatch();
  const location = await create(store, file, name);
  const step = Math.ceil(file.size / pieces);
  for (let start = 0; start < file.size; start += step) {
    expect(await patch(store, location, file, start, Math.min(file.size, start + step)), 204, 'tus PATCH');
  }
  return file.size / MiB / elapsed();
}

/**
 * Half the file, the connection dropped, HEAD, then the rest: MiB/s of the whole. A HEAD sent
 * right after the cut can reach the server before the cut PATCH does (its bytes still in
 * flight); the resumed PATCH is then 409 once that PATCH moves the offset, and a tus client
 * asks HEAD again, as tus-js-client and the CLI do.
 */
async function cutAndResume(store: CloudStore, file: TestFile, name: string): Promise<number> {
  const elapsed = stopwatch();
  const location = await create(store, file, name);
  await patch(store, location, file, 0, file.size, Math.floor(file.size / 2));
  for (let attempt = 1; ; attempt++) {
    const head = expect(await send(location, 'HEAD', { ...store.authorization, ...TUS }, file, 0, 0), 200, 'tus HEAD');
    const offset = Number(head.headers['upload-offset']);
    const resumed = await patch(store, location, file, offset, file.size);
    if (resumed?.status === 409 && attempt < 3) continue;
    expect(resumed, 204, 'resumed PATCH');
    return file.size / MiB / elapsed();
  }
}

async function rawUpload(store: CloudStore, file: TestFile, name: string): Promise<number> {
  const elapsed = stopwatch();
  const headers = { ...store.authorization, 'content-type': 'application/octet-stream', 'repr-digest': file.reprDigest };
  expect(await send(store.fileUrl(name), 'POST', headers, file, 0, file.size), 201, 'raw upload');
  return file.size / MiB / elapsed();
}

export async function runResumable(context: BenchContext): Promise<void> {
  const file = await testFile('payload', context.plan.bigSize);
  await prefault(file);
  const table = `Resumable (tus) uploads of ${formatSize(file.size)} vs the raw route, one Node client`;
  // The plan's count for a transfer of this size (5 for 1 GiB, or --reps): with 3 pairs, one pair moved the median.
  const repetitions = context.plan.repetitions(file.size);
  for (const store of context.cloudStores) {
    const variant = (key: string, label: string, run: (name: string) => Promise<number>): Variant => ({
      label: `${label} (${store.label})`,
      run: (repetition) => run(`resumable-${key}-${repetition}`),
      after: async (repetition) => {
        await store.remove(`resumable-${key}-${repetition}`);
        await mustRun('sync', []);
      },
    });
    const variants = [
      variant('raw', 'raw upload', (name) => rawUpload(store, file, name)),
      variant('one', 'tus, one PATCH', (name) => tusUpload(store, file, name, 1)),
      variant('eight', `tus, ${PATCHES} PATCHes`, (name) => tusUpload(store, file, name, PATCHES)),
      variant('cut', 'tus, cut at 50 % and resumed', (name) => cutAndResume(store, file, name)),
    ];
    context.progress(`resumable ${formatSize(file.size)} on ${store.label} × ${repetitions}`);
    const samples = await interleave(repetitions, variants);
    const rates = variants.map((entry) => samples.get(entry.label)!);
    for (const [index, entry] of variants.entries()) {
      if (rates[index].error !== undefined) {
        context.results.addMissing('resumable', table, entry.label, `failed: ${rates[index].error}`);
        continue;
      }
      context.results.add({
        caseId: 'resumable',
        table,
        label: entry.label,
        unit: 'MiB/s',
        higherIsBetter: true,
        samples: rates[index].samples,
      });
    }
    if (rates.some((rate) => rate.error !== undefined)) continue;
    const [raw, one, eight, cut] = rates.map((rate) => rate.samples);
    const verdicts = [
      [TARGETS.resumableOnePatch, pairedRatios(one, raw), 'tus one PATCH ÷ raw'],
      [TARGETS.resumableEightPatches, pairedRatios(eight, raw), `tus ${PATCHES} PATCHes ÷ raw`],
      // Times, not rates: the cut upload's time over the raw upload's.
      [TARGETS.resumableCut, pairedRatios(raw, cut), 'tus cut and resumed, time ÷ raw time'],
    ] as const;
    for (const [definition, ratios, label] of verdicts) {
      context.results.addRatio({ caseId: 'resumable', table, label: `${label} (${store.label})`, ratios });
      context.results.judge(judge(definition, store.database, median(ratios), `${formatSize(file.size)}, ${repetitions} paired runs`));
    }
  }
}
