/**
 * One long-lived workflow per repository that turns beacons into published snapshots.
 *
 * - Beacons arrive as signals (signalWithStart from the webhook, or `nblc sync`).
 * - Pulls are serialized: one pass at a time takes every pending beacon (a burst coalesces
 *   into one pull of the newest commit; an older commit is never published after a newer one).
 * - Deliveries are deduplicated by ID: one that already synced is ignored, one that failed is
 *   processed again (that is what GitHub's "Redeliver" button is for).
 * - The run continues-as-new before its history grows large and ends after an idle period;
 *   the next beacon starts a new run, which reads the published commit back from disk.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { RunActivities } from '../activities/runs/index.js';
import type { SyncActivities } from '../activities/sync/index.js';
import { bulkCopyWorkflowId } from '../copies/model.js';
import { testNotebooks } from './testNotebooks.js';
import { userCopiesBulk } from './userCopiesBulk.js';
import {
  NON_RETRYABLE_PUBLISH_FAILURES,
  SYNC_SA,
  type Beacon,
  type DeliveryRecord,
  type PublishedInfo,
  type SyncCarry,
  type SyncError,
  type SyncInput,
  type SyncResult,
  type SyncStatus,
} from '../sync/model.js';

export const beaconSignal = defineSignal<[Beacon]>('beacon');
export const statusQuery = defineQuery<SyncStatus>('status');

/** Deliveries remembered for dedupe (GitHub redelivers within days, not thousands of merges). */
const DEDUPE_WINDOW = 500;
const RECENT_IN_QUERY = 20;
const DEFAULT_MAX_HISTORY_EVENTS = 5000;

const { readPublished, planSync, diffCommits, copyUpdateSettings } = proxyActivities<SyncActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
});

const { mergeRunSettings } = proxyActivities<RunActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5 },
});

// Network: transient failures back off up to a minute for ~10 minutes; auth and "not found"
// are typed non-retryable by the activity. The heartbeat timeout notices a lost worker fast.
const { fetchBranch } = proxyActivities<SyncActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 12 },
});

const { publishSnapshot } = proxyActivities<SyncActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 8,
    nonRetryableErrorTypes: NON_RETRYABLE_PUBLISH_FAILURES,
  },
});

export async function repoSync(input: SyncInput): Promise<SyncResult> {
  const deliveries: DeliveryRecord[] = input.carry?.deliveries ?? [];
  let published: PublishedInfo | null = input.carry?.published ?? null;
  let lastError: SyncError | null = input.carry?.lastError ?? null;
  let running: SyncStatus['running'] = null;
  const now = () => new Date().toISOString(); // deterministic inside workflows

  const byId = (id: string) => deliveries.find((d) => d.deliveryId === id);
  const pending = () => deliveries.filter((d) => d.outcome === 'pending');

  setHandler(beaconSignal, (beacon) => {
    const known = byId(beacon.deliveryId);
    if (known && known.outcome !== 'failed') {
      known.duplicates++;
      return;
    }
    if (known) deliveries.splice(deliveries.indexOf(known), 1);
    deliveries.push({ ...beacon, outcome: 'pending', duplicates: known ? known.duplicates + 1 : 0 });
    trimWindow(deliveries);
  });

  setHandler(statusQuery, () => ({
    repo: input.repo,
    branch: input.branch,
    published,
    pending: pending().map((d) => ({ sha: d.sha, deliveryId: d.deliveryId })),
    running,
    lastError,
    recentDeliveries: deliveries.slice(-RECENT_IN_QUERY).reverse(),
  }));

  const describe = () => {
    const lines = [
      `**${input.repo}@${input.branch}**`,
      published ? `published \`${published.sha.slice(0, 12)}\` at ${published.at}` : 'nothing published yet',
      `pending: ${pending().length}`,
    ];
    if (running) lines.push(`running: ${running.step}`);
    if (lastError) lines.push(`last error (${lastError.at}): ${lastError.message}`);
    setCurrentDetails(lines.join('\n\n'));
  };

  upsertSearchAttributes([{ key: SYNC_SA.repo, value: input.repo }]);
  if (!input.carry) {
    const sha = await readPublished();
    if (sha) published = { sha, at: now(), path: '', deliveryId: '(found on disk)' };
  }
  if (published) upsertSearchAttributes([{ key: SYNC_SA.publishedCommit, value: published.sha }]);
  describe();

  const maxEvents = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;
  const historyFull = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= maxEvents;

  for (;;) {
    const woke = await condition(() => pending().length > 0 || historyFull(), input.idleTimeout);
    if (!woke) {
      // Idle: finish once every signal handler is done; a beacon racing with the end is
      // delivered to this run (the completion is then retried) or starts the next one.
      await condition(allHandlersFinished);
      if (pending().length === 0) return { reason: 'idle', published };
      continue;
    }
    if (pending().length > 0) await pass();
    if (historyFull()) {
      await condition(allHandlersFinished);
      const carry: SyncCarry = { published, deliveries, lastError };
      return continueAsNew<typeof repoSync>({ ...input, carry });
    }
  }

  /** One pull: everything pending now is one batch; beacons arriving meanwhile wait for the next. */
  async function pass(): Promise<void> {
    const batch = pending();
    for (const d of batch) d.outcome = 'running';
    const ids = batch.map((d) => d.deliveryId);
    running = { deliveryIds: ids, startedAt: now(), step: 'fetch' };
    describe();
    let merged: { previous: string | null; sha: string } | undefined;
    try {
      const { tip } = await fetchBranch();
      const candidates = [...new Set(batch.map((d) => d.sha ?? tip))];
      running.step = 'plan';
      const plan = await planSync({ candidates, published: published?.sha ?? null, tip });
      if (plan.target) {
        running.step = `publish ${plan.target.slice(0, 12)}`;
        describe();
        const res = await publishSnapshot.executeWithOptions(
          { summary: `Publish ${plan.target.slice(0, 12)} of ${input.repo}` },
          [{ sha: plan.target }],
        );
        const by = batch.find((d) => plan.outcomes[d.sha ?? tip]?.outcome === 'publish');
        merged = { previous: published?.sha ?? null, sha: res.sha };
        published = { sha: res.sha, at: now(), path: res.path, deliveryId: by?.deliveryId ?? ids[0] ?? '' };
        upsertSearchAttributes([{ key: SYNC_SA.publishedCommit, value: res.sha }]);
      }
      const failures: string[] = [];
      for (const d of batch) {
        const o = plan.outcomes[d.sha ?? tip];
        if (!o || o.outcome === 'unreachable') {
          finish(d, 'failed', o?.reason ?? 'no plan for this commit');
          failures.push(o?.reason ?? d.deliveryId);
        } else {
          finish(d, o.outcome === 'publish' ? 'synced' : o.outcome);
        }
      }
      lastError = failures.length ? { message: failures.join('; '), at: now(), deliveryIds: ids } : null;
      // Versioned: histories recorded before these steps existed replay without them.
      const { previous, sha } = merged ?? {};
      if (sha !== undefined && patched('merge-test-runs')) {
        // If it does not start, the scheduled run covers the merge.
        await afterPublish('start merge test run', 'the merge test run', () => startMergeRun(previous ?? null, sha));
      }
      if (sha !== undefined && patched('update-copies-after-publish')) {
        await afterPublish("start update of users' copies", "the update of users' copies", () =>
          startCopiesUpdate(sha),
        );
      }
    } catch (err) {
      const message = failureMessage(err);
      for (const d of batch) finish(d, 'failed', message);
      lastError = { message, at: now(), deliveryIds: ids };
    } finally {
      running = null;
      describe();
    }
  }

  /** A step after a publish: if it fails, the publish stands and lastError says what is missing. */
  async function afterPublish(step: string, what: string, start: () => Promise<void>): Promise<void> {
    running!.step = step;
    try {
      await start();
    } catch (err) {
      const ids = running!.deliveryIds;
      lastError = {
        message: `published, but ${what} did not start: ${failureMessage(err)}`,
        at: now(),
        deliveryIds: ids,
      };
    }
  }

  function finish(d: DeliveryRecord, outcome: DeliveryRecord['outcome'], error?: string): void {
    d.outcome = outcome;
    d.finishedAt = now();
    d.publishedSha = published?.sha;
    if (error) d.error = error;
    else delete d.error;
  }
}

/**
 * After a publish, tests the notebooks that the merge changed (all of them after the first
 * publish) in a child run that outlives this workflow. One run per commit: a retried pass finds
 * it already started.
 */
async function startMergeRun(previous: string | null, commit: string): Promise<void> {
  const settings = await mergeRunSettings();
  if (!settings) return;
  let paths: string[] | undefined;
  if (previous) {
    paths = (await diffCommits({ from: previous, to: commit })).filter((p) => p.endsWith('.ipynb'));
    if (paths.length === 0) return;
  }
  await startOnce(
    startChild(testNotebooks, {
      workflowId: `test-run:merge-${commit.slice(0, 12)}`,
      args: [{ kind: 'merge', commit, paths, ...settings }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `merge test run of ${paths ? `${paths.length} changed notebook(s)` : 'the notebook suite'} at ${commit.slice(0, 12)}`,
    }),
  );
}

/**
 * After a publish, when configured, updates every user's main copy in place: a bulk workflow
 * that outlives this one. One per commit; two overlapping ones are safe, since each user's
 * requests are served one at a time and an update always goes to the current snapshot.
 */
async function startCopiesUpdate(commit: string): Promise<void> {
  const settings = await copyUpdateSettings();
  if (!settings) return;
  await startOnce(
    startChild(userCopiesBulk, {
      workflowId: `${bulkCopyWorkflowId('update')}:publish-${commit.slice(0, 12)}`,
      args: [{ mode: 'update', concurrency: settings.concurrency }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `update of every user's copy after the publish of ${commit.slice(0, 12)}`,
    }),
  );
}

/** A child started by an earlier attempt of the same pass (its ID is per commit) is not an error. */
async function startOnce(started: Promise<unknown>): Promise<void> {
  try {
    await started;
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

function trimWindow(deliveries: DeliveryRecord[]): void {
  while (deliveries.length > DEDUPE_WINDOW) {
    const i = deliveries.findIndex((d) => d.outcome !== 'pending' && d.outcome !== 'running');
    if (i < 0) return;
    deliveries.splice(i, 1);
  }
}

/** The operator-facing reason of an activity failure (the root cause, not the wrapper). */
function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) {
    const cause = err.cause;
    const type = cause instanceof ApplicationFailure && cause.type ? ` [${cause.type}]` : '';
    return `${err.activityType}: ${cause.message}${type}`;
  }
  if (err instanceof Error) throw err; // not an activity failure: a bug, let the task fail visibly
  return String(err);
}
