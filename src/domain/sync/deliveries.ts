/**
 * The sync workflow's bookkeeping: which deliveries it knows, which wait for the next pass, what
 * each one came to, what is published, and the last error. Pure (no Temporal calls, no I/O), so
 * the workflow keeps only the life cycle and this is unit-tested without a server.
 *
 * One pass at a time: `beginPass` takes every pending delivery as the batch, `endPass` lets the
 * next one begin. Beacons that arrive meanwhile stay pending for the next pass.
 */
import type {
  Beacon,
  DeliveryOutcome,
  DeliveryRecord,
  PublishedInfo,
  PublishResult,
  SyncCarry,
  SyncError,
  SyncPlan,
  SyncStatus,
} from './model.js';

/** Deliveries remembered for dedupe (GitHub redelivers within days, not thousands of merges). */
export const DEDUPE_WINDOW = 500;
/** Deliveries the status query returns (the carry keeps the whole window). */
export const RECENT_IN_QUERY = 20;

/** Workflow code may read the clock: the SDK makes it deterministic. Tests pass their own. */
const isoNow = () => new Date().toISOString();

export class Deliveries {
  published: PublishedInfo | null;
  lastError: SyncError | null;
  running: SyncStatus['running'] = null;
  /** Oldest first; the carried array itself, so continue-as-new carries what the run changed. */
  private readonly records: DeliveryRecord[];
  private batch: DeliveryRecord[] = [];

  constructor(
    carry?: SyncCarry,
    private readonly now: () => string = isoNow,
    private readonly window: number = DEDUPE_WINDOW,
  ) {
    this.records = carry?.deliveries ?? [];
    this.published = carry?.published ?? null;
    this.lastError = carry?.lastError ?? null;
  }

  /**
   * A beacon. A delivery ID seen before only counts as a duplicate, unless that delivery failed:
   * then it is processed again (GitHub's "Redeliver"), keeping its count.
   */
  receive(beacon: Beacon): void {
    const known = this.records.find((d) => d.deliveryId === beacon.deliveryId);
    if (known && known.outcome !== 'failed') {
      known.duplicates++;
      return;
    }
    if (known) this.records.splice(this.records.indexOf(known), 1);
    this.records.push({ ...beacon, outcome: 'pending', duplicates: known ? known.duplicates + 1 : 0 });
    this.trim();
  }

  pending(): DeliveryRecord[] {
    return this.records.filter((d) => d.outcome === 'pending');
  }

  /** A run started without carry learns the published commit from disk; no delivery of its own did it. */
  foundOnDisk(sha: string): void {
    this.published = { sha, at: this.now(), path: '', deliveryId: '(found on disk)' };
  }

  /** Takes everything pending now as this pass's batch. */
  beginPass(): void {
    this.batch = this.pending();
    for (const d of this.batch) d.outcome = 'running';
    this.running = { deliveryIds: this.batch.map((d) => d.deliveryId), startedAt: this.now(), step: 'fetch' };
  }

  /** What the batch asks for, each commit once; a beacon without a commit asks for the tip. */
  candidates(tip: string): string[] {
    return [...new Set(this.batch.map((d) => d.sha ?? tip))];
  }

  /** The same, before the tip is known: the commits named, and whether a beacon asked for the tip. */
  requested(): { shas: string[]; tip: boolean } {
    const shas = this.batch.flatMap((d) => (d.sha ? [d.sha] : []));
    return { shas: [...new Set(shas)], tip: this.batch.some((d) => !d.sha) };
  }

  step(step: string): void {
    if (this.running) this.running.step = step;
  }

  /** Records a publish; returns the commits it moved between (for the steps after a publish). */
  recordPublish(
    res: Pick<PublishResult, 'sha' | 'path'>,
    plan: SyncPlan,
    tip: string,
  ): { previous: string | null; sha: string } {
    const by = this.batch.find((d) => plan.outcomes[d.sha ?? tip]?.outcome === 'publish');
    const merged = { previous: this.published?.sha ?? null, sha: res.sha };
    this.published = {
      sha: res.sha,
      at: this.now(),
      path: res.path,
      deliveryId: by?.deliveryId ?? this.batch[0]?.deliveryId ?? '',
    };
    return merged;
  }

  /**
   * Each delivery of the batch gets its commit's outcome in the plan. An unreachable commit (or
   * one the plan does not mention) fails its delivery with the reason, and sets lastError.
   */
  settle(plan: SyncPlan, tip: string): void {
    const failures: string[] = [];
    for (const d of this.batch) {
      const o = plan.outcomes[d.sha ?? tip];
      if (!o || o.outcome === 'unreachable') {
        this.finish(d, 'failed', o?.reason ?? 'no plan for this commit');
        failures.push(o?.reason ?? d.deliveryId);
      } else {
        this.finish(d, o.outcome === 'publish' ? 'synced' : o.outcome);
      }
    }
    this.lastError = failures.length ? this.error(failures.join('; ')) : null;
  }

  /** The pass failed (an activity gave up): every delivery of the batch failed with `message`. */
  failPass(message: string): void {
    for (const d of this.batch) this.finish(d, 'failed', message);
    this.lastError = this.error(message);
  }

  /** A step after a publish did not happen; the publish stands. */
  afterPublishFailed(what: string, message: string): void {
    this.lastError = this.error(`published, but ${what} did not start: ${message}`);
  }

  endPass(): void {
    this.running = null;
    this.batch = [];
  }

  status(repo: string, branch: string): SyncStatus {
    return {
      repo,
      branch,
      published: this.published,
      pending: this.pending().map((d) => ({ sha: d.sha, deliveryId: d.deliveryId })),
      running: this.running,
      lastError: this.lastError,
      recentDeliveries: this.records.slice(-RECENT_IN_QUERY).reverse(),
    };
  }

  /** The workflow's current details (Markdown) in the Temporal UI. */
  details(repo: string, branch: string): string {
    const { published, running, lastError } = this;
    const lines = [
      `**${repo}@${branch}**`,
      published ? `published \`${published.sha.slice(0, 12)}\` at ${published.at}` : 'nothing published yet',
      `pending: ${this.pending().length}`,
    ];
    if (running) lines.push(`running: ${running.step}`);
    if (lastError) lines.push(`last error (${lastError.at}): ${lastError.message}`);
    return lines.join('\n\n');
  }

  carry(): SyncCarry {
    return { published: this.published, deliveries: this.records, lastError: this.lastError };
  }

  private finish(d: DeliveryRecord, outcome: DeliveryOutcome, error?: string): void {
    d.outcome = outcome;
    d.finishedAt = this.now();
    d.publishedSha = this.published?.sha;
    if (error) d.error = error;
    else delete d.error;
  }

  private error(message: string): SyncError {
    return { message, at: this.now(), deliveryIds: this.running?.deliveryIds ?? [] };
  }

  /** Drops the oldest finished records; pending and running ones are kept even beyond the window. */
  private trim(): void {
    while (this.records.length > this.window) {
      const i = this.records.findIndex((d) => d.outcome !== 'pending' && d.outcome !== 'running');
      if (i < 0) return;
      this.records.splice(i, 1);
    }
  }
}
