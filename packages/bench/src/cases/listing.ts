import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { BenchContext } from '../bench-context.js';
import { hammer } from '../autocannon-run.js';
import { interleave, median, pairedRatios, type Variant } from '../measure.js';
import { ROOT_PACKAGE_JSON, SEED_SCRIPT } from '../repository-paths.js';
import type { CloudStore } from '../servers/cloudstore.js';
import { mustRun } from '../subprocess.js';
import { TARGETS, judge, notMeasured } from '../targets.js';

/**
 * The listing page (GET /cloud/drive-permit/, 100 entries) for an account with a thousand
 * files and for one with a million, seeded with `pnpm seed`: API.md promises that a page
 * costs the same on the millionth file as on the first. The large account is read at its
 * first page and at a page half-way through (reached by walking the cursors).
 */

const PAGE = 100;

async function seedUnavailableReason(): Promise<string | null> {
  const rootPackage = JSON.parse(await readFile(ROOT_PACKAGE_JSON, 'utf8')) as { scripts?: Record<string, string> };
  if (!rootPackage.scripts?.seed) return '`pnpm seed` does not exist yet';
  if (!existsSync(SEED_SCRIPT)) return '`pnpm seed` is not built';
  return null;
}

interface SeededAccount {
  username: string;
  token: string;
  seconds: number;
}

/** `pnpm seed --user NAME --count N` (its built script: `pnpm bench` has just built) on the server's own database. */
async function seedAccount(store: CloudStore, count: number, timeoutMs: number): Promise<SeededAccount> {
  const username = `list_${count}_${randomBytes(3).toString('hex')}`;
  const password = randomBytes(18).toString('base64url');
  // --name=value: a generated password may start with '-', which parseArgs would take for an option.
  const result = await mustRun(process.execPath, [SEED_SCRIPT, `--user=${username}`, `--count=${count}`, `--password=${password}`], {
    env: { ...process.env, DATA_DIR: store.dataDirectory, DATABASE_URL: store.databaseUrl ?? '', LOG_LEVEL: 'warn' },
    cwd: store.dataDirectory,
    timeoutMs,
  });
  const login = await fetch(`${store.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (login.status !== 200) throw new Error(`login of the seeded account answered ${login.status}`);
  return { username, token: ((await login.json()) as { token: string }).token, seconds: result.seconds };
}

/** Walks pages of up to 1000 entries to about half of `count`; returns the cursor there. */
async function cursorHalfWay(store: CloudStore, token: string, count: number): Promise<string | null> {
  const pageSize = Math.min(1000, Math.max(PAGE, Math.floor(count / 20)));
  let cursor: string | null = null;
  for (let seen = 0; seen < count / 2; seen += pageSize) {
    const query: string = `?limit=${pageSize}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const response: Response = await fetch(`${store.url}/cloud/drive-permit/${query}`, { headers: { authorization: `Bearer ${token}` } });
    if (response.status !== 200) throw new Error(`walking the listing answered ${response.status}`);
    cursor = ((await response.json()) as { next_cursor: string | null }).next_cursor;
    if (cursor === null) break;
  }
  return cursor;
}

export async function runListing(context: BenchContext): Promise<void> {
  const { small, large } = context.plan.listingCounts;
  const table = `Listing page (${PAGE} entries): ${small.toLocaleString('en')} vs ${large.toLocaleString('en')} files`;
  const unavailable = await seedUnavailableReason();
  for (const database of context.options.databases) {
    const reason = context.unavailableDatabases.get(database) ?? unavailable;
    const store = context.cloudStores.find((candidate) => candidate.database === database);
    if (reason !== null || !store) {
      context.results.judge(notMeasured(TARGETS.listing, database, reason ?? 'our server did not start'));
      continue;
    }
    const probe = await store.api('GET', '/cloud/drive-permit/');
    if (probe.status !== 200) {
      context.results.judge(notMeasured(TARGETS.listing, database, `GET /cloud/drive-permit/ answered ${probe.status}`));
      continue;
    }
    context.progress(`listing on ${store.label}: seeding ${small} and ${large} files`);
    // A seed that hangs must not hang the test suite's quick run with it.
    const timeoutMs = context.plan.quick ? 60_000 : 10 * 60_000;
    const few = await seedAccount(store, small, timeoutMs);
    const many = await seedAccount(store, large, timeoutMs);
    context.results.note(`Seeding ${large.toLocaleString('en')} files on ${store.label} took ${many.seconds.toFixed(1)} s.`);
    const halfWay = await cursorHalfWay(store, many.token, large);
    const { repetitions } = context.plan.smallRequests;
    const pageUrl = (cursor: string | null) =>
      `${store.url}/cloud/drive-permit/?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const variant = (label: string, token: string, cursor: string | null): Variant => ({
      label,
      run: async () => (await hammer(pageUrl(cursor), { authorization: `Bearer ${token}` }, context.plan.smallRequests)).requestsPerSecond,
    });
    const variants = [
      variant(`first page, ${small.toLocaleString('en')} files (${store.label})`, few.token, null),
      variant(`first page, ${large.toLocaleString('en')} files (${store.label})`, many.token, null),
      variant(`half-way page, ${large.toLocaleString('en')} files (${store.label})`, many.token, halfWay),
    ];
    if (!context.plan.quick) for (const warm of variants) await warm.run(-1);
    context.progress(`listing on ${store.label}: ${variants.length} pages × ${repetitions}`);
    const samples = await interleave(repetitions, variants);
    const failed = variants.find((entry) => samples.get(entry.label)!.error !== undefined);
    for (const entry of variants) {
      const result = samples.get(entry.label)!;
      if (result.error !== undefined) context.results.addMissing('listing', table, entry.label, `failed: ${result.error}`, 'req/s');
      else
        context.results.add({ caseId: 'listing', table, label: entry.label, unit: 'req/s', higherIsBetter: true, samples: result.samples });
    }
    if (failed) {
      context.results.judge(notMeasured(TARGETS.listing, database, `failed: ${samples.get(failed.label)!.error}`));
      continue;
    }
    // Cost ratio: requests per second at the small count over those at the large one, the worse of the two large pages.
    const [smallRate, firstRate, halfWayRate] = variants.map((entry) => samples.get(entry.label)!.samples);
    const firstRatios = pairedRatios(smallRate, firstRate);
    const halfWayRatios = pairedRatios(smallRate, halfWayRate);
    context.results.addRatio({
      caseId: 'listing',
      table,
      label: `first page cost, ${large.toLocaleString('en')} ÷ ${small.toLocaleString('en')} files (${store.label})`,
      ratios: firstRatios,
    });
    context.results.addRatio({
      caseId: 'listing',
      table,
      label: `half-way page cost, ${large.toLocaleString('en')} ÷ ${small.toLocaleString('en')} files (${store.label})`,
      ratios: halfWayRatios,
    });
    const worse = Math.max(median(firstRatios), median(halfWayRatios));
    context.results.judge(
      judge(
        TARGETS.listing,
        database,
        worse,
        `first page ${median(firstRatios).toFixed(2)}×, half-way ${median(halfWayRatios).toFixed(2)}×`,
      ),
    );
  }
}
