import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import { ScrubRepository, type ScrubTarget } from '../repositories/scrub.js';
import type { BlobStore } from '../store/blob-store.js';
import { RatePacer, sleep } from './rate-pacer.js';

/** A scrubber's lease on one content; renewed while the re-hash runs, so a crashed one frees it soon. */
const LEASE_MS = 60_000;
const LEASE_RENEW_MS = 15_000;
/** How often an idle scrubber looks for content that became due (new uploads are due at once). */
const IDLE_POLL_MS = 60_000;

export interface ScrubSettings {
  /** SCRUB_BYTES_PER_SECOND; 0: no scrub. */
  bytesPerSecond: number;
  /** A content is scrubbed again this long after its last scrub (SCRUB_INTERVAL_DAYS). */
  intervalMs: number;
  /** How often an idle scrubber looks again (tests shorten it). */
  idlePollMs?: number;
}

/** One content scrubbed: `ok`, `damaged` (quarantined now), or `skipped` (collected or healed while it was read). */
export interface ScrubEvent {
  sha256: string;
  size: number;
  /** Bytes read back. */
  bytes: number;
  status: 'ok' | 'damaged' | 'skipped';
  at: number;
}

/**
 * The background scrub: reads stored content back at a bounded rate and re-hashes it, oldest
 * scrub first, so that every content is read once per interval; content whose bytes no longer
 * match its digest is quarantined. Progress is on the blob rows (scrubbed_at), so a restart goes
 * on where it stopped, and a lease per content keeps several instances from reading the same one.
 * Emits `scrubbed` with a ScrubEvent after each content.
 */
export class Scrubber extends EventEmitter<{ scrubbed: [ScrubEvent] }> {
  /** This scrubber's name on the leases it takes. */
  private readonly owner = randomBytes(16).toString('hex');
  private readonly stopping = new AbortController();
  private readonly pacer: RatePacer;
  private running: Promise<void> | null = null;

  constructor(
    private readonly scrub: ScrubRepository,
    private readonly store: BlobStore,
    private readonly settings: ScrubSettings,
    private readonly log: FastifyBaseLogger,
    private readonly clock: () => number = Date.now,
  ) {
    super();
    this.pacer = new RatePacer(Math.max(1, settings.bytesPerSecond));
  }

  start(): void {
    if (this.settings.bytesPerSecond === 0 || this.running) return;
    this.running = this.loop();
  }

  /** Stops after the read in progress is cut, releasing its lease. */
  async stop(): Promise<void> {
    this.stopping.abort(new Error('the scrub is stopping'));
    await this.running;
  }

  private async loop(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      try {
        const now = this.clock();
        const target = await this.scrub.leaseDue(now - this.settings.intervalMs, now, this.owner, now + LEASE_MS);
        if (target) await this.scrubOne(target);
        else await sleep(this.settings.idlePollMs ?? IDLE_POLL_MS, signal);
      } catch (error) {
        if (signal.aborted) return;
        this.log.warn({ err: error }, 'scrub failed; trying again later');
        await sleep(this.settings.idlePollMs ?? IDLE_POLL_MS, signal).catch(() => {});
      }
    }
  }

  private async scrubOne(target: ScrubTarget): Promise<void> {
    // Lost when the lease could not be renewed (another scrubber took it after it expired).
    const lost = new AbortController();
    const signal = AbortSignal.any([this.stopping.signal, lost.signal]);
    const renewal = setInterval(() => {
      this.scrub.renewLease(target.id, this.owner, this.clock() + LEASE_MS).then(
        (isHeld) => isHeld || lost.abort(new Error('the scrub lease was lost')),
        () => {},
      );
    }, LEASE_RENEW_MS);
    let result: { sha256: string; size: number } | null;
    try {
      result = await this.store.rehash(target.sha256, { pace: (bytes) => this.pacer.take(bytes, signal) });
    } catch (error) {
      await this.scrub.releaseLease(target.id, this.owner).catch(() => {});
      if (lost.signal.aborted) return;
      throw error;
    } finally {
      clearInterval(renewal);
    }
    const isWhole = result !== null && result.sha256 === target.sha256 && result.size === target.size;
    const recorded = await this.scrub.recordOutcome(target.id, target.generation, isWhole, this.clock(), this.owner);
    const status = recorded !== 'recorded' ? 'skipped' : isWhole ? 'ok' : 'damaged';
    if (status === 'damaged') {
      this.log.error(
        { sha256: target.sha256, found: result?.sha256 ?? null, size: target.size, foundSize: result?.size ?? null },
        'stored content no longer matches its digest: quarantined until an upload of the same bytes heals it',
      );
    }
    this.emit('scrubbed', { sha256: target.sha256, size: target.size, bytes: result?.size ?? 0, status, at: performance.now() });
  }
}
