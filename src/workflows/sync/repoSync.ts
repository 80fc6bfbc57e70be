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
 *
 * This file is the life cycle; the bookkeeping of deliveries (dedupe, outcomes, what the status
 * query and current details show) is src/domain/sync/deliveries.ts, unit-tested without a server.
 */
import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SyncActivities } from '../../activities/sync/index.js';
import { Deliveries } from '../../domain/sync/deliveries.js';
import { sendSyncAlert } from '../runs/runNotify.js';
import { failureText } from '../failureText.js';
import {
  NON_RETRYABLE_PUBLISH_FAILURES,
  SYNC_SA,
  type SyncFailing,
  type SyncInput,
  type SyncPlan,
  type SyncResult,
} from '../../domain/sync/model.js';
import { longFileWork, quickLookup } from '../activityOptions.js';
import { beaconSignal, statusQuery } from '../../domain/sync/messages.js';
import { startCopiesUpdate, startMergeRun } from './afterPublish.js';

const DEFAULT_MAX_HISTORY_EVENTS = 5000;

const { readPublished } = proxyActivities<SyncActivities>(quickLookup());

// Network: transient failures back off up to a minute for ~10 minutes; auth and "not found"
// are typed non-retryable by the activity. The heartbeat timeout notices a lost worker fast.
// planSync too: on a host whose clone lacks the commits (another host fetched them) it fetches
// first, and a new host's first fetch is the whole repository, longer than a plan's minutes.
const { fetchBranch, planSync } = proxyActivities<SyncActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 12 },
});

const { publishSnapshot } = proxyActivities<SyncActivities>(longFileWork(NON_RETRYABLE_PUBLISH_FAILURES));

// The three in one: the fetch's retries (~10 minutes of network trouble), the publish's length.
const { syncPass } = proxyActivities<SyncActivities>({
  ...longFileWork(NON_RETRYABLE_PUBLISH_FAILURES),
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 12,
    nonRetryableErrorTypes: NON_RETRYABLE_PUBLISH_FAILURES,
  },
});

export async function repoSync(input: SyncInput): Promise<SyncResult> {
  const book = new Deliveries(input.carry);
  const describe = () => setCurrentDetails(book.details(input.repo, input.branch));

  setHandler(beaconSignal, (beacon) => book.receive(beacon));
  setHandler(statusQuery, () => book.status(input.repo, input.branch));

  upsertSearchAttributes([{ key: SYNC_SA.repo, value: input.repo }]);
  if (!input.carry) {
    const sha = await readPublished();
    if (sha) book.foundOnDisk(sha);
  }
  if (book.published) upsertSearchAttributes([{ key: SYNC_SA.publishedCommit, value: book.published.sha }]);
  describe();

  const maxEvents = input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS;
  const historyFull = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= maxEvents;
  const hasPending = () => book.pending().length > 0;
  // Versioned: histories from before sync alerts replay without their timer.
  const alertAfter = input.alertSyncAfterMs !== undefined && patched('sync-alerts') ? input.alertSyncAfterMs : null;
  let failing: SyncFailing | null = input.carry?.failing ?? null;

  for (;;) {
    // While failing, the run stays open (no idle end) so that it sees the recovery, and wakes
    // when the failure has lasted NBLC_ALERT_SYNC_AFTER.
    let woke: boolean;
    if (failing && alertAfter !== null) {
      const due = Date.parse(failing.since) + alertAfter - Date.now();
      if (failing.alerted) {
        await condition(() => hasPending() || historyFull());
        woke = true;
      } else {
        woke = await condition(() => hasPending() || historyFull(), Math.max(1, due));
      }
      if (!woke) {
        await sendSyncAlert({ repo: input.repo, failing: true, since: failing.since, error: book.lastError?.message });
        failing.alerted = true;
        continue;
      }
    } else {
      woke = await condition(() => hasPending() || historyFull(), input.idleTimeout);
    }
    if (!woke) {
      // Idle: finish once every signal handler is done; a beacon racing with the end is
      // delivered to this run (the completion is then retried) or starts the next one.
      await condition(allHandlersFinished);
      if (!hasPending()) return { reason: 'idle', published: book.published };
      continue;
    }
    if (hasPending()) {
      await pass();
      if (alertAfter !== null) await trackFailing();
    }
    if (historyFull()) {
      await condition(allHandlersFinished);
      return continueAsNew<typeof repoSync>({ ...input, carry: { ...book.carry(), ...(failing ? { failing } : {}) } });
    }
  }

  /** A failing episode begins with its first failed pass and ends with a good one (told if it was). */
  async function trackFailing(): Promise<void> {
    if (book.lastError) {
      failing ??= { since: book.lastError.at, alerted: false };
      return;
    }
    if (failing?.alerted) await sendSyncAlert({ repo: input.repo, failing: false, since: failing.since });
    failing = null;
  }

  /** One pull: everything pending now is one batch; beacons arriving meanwhile wait for the next. */
  async function pass(): Promise<void> {
    book.beginPass();
    describe();
    try {
      // Versioned: since `one-activity-pass` a pass is one activity (fetch, plan, publish): two
      // workflow tasks and activity round trips fewer between a beacon and the swap.
      const { plan, tip, merged } = patched('one-activity-pass') ? await onePass() : await stepByStep();
      book.settle(plan, tip);
      // Versioned: histories recorded before these steps existed replay without them.
      if (merged && patched('merge-test-runs')) {
        // If it does not start, the scheduled run covers the merge.
        await afterPublish('start merge test run', 'the merge test run', () =>
          startMergeRun(merged.previous, merged.sha),
        );
      }
      if (merged && patched('update-copies-after-publish')) {
        await afterPublish("start update of users' copies", "the update of users' copies", () =>
          startCopiesUpdate(merged.sha),
        );
      }
    } catch (err) {
      book.failPass(failureMessage(err));
    } finally {
      book.endPass();
      describe();
    }
  }

  /** A pass as three activities, as histories from before `one-activity-pass` recorded it. */
  async function stepByStep() {
    const { tip } = await fetchBranch();
    const candidates = book.candidates(tip);
    book.step('plan');
    const plan = await planSync({ candidates, published: book.published?.sha ?? null, tip });
    const merged = plan.target ? await publish(plan, plan.target, tip) : undefined;
    return { plan, tip, merged };
  }

  /** A pass as one activity; the bookkeeping of a publish as in `publish`. */
  async function onePass() {
    book.step('fetch, plan and publish');
    describe();
    const res = await syncPass.executeWithOptions({ summary: `Sync ${input.repo}` }, [
      { ...book.requested(), published: book.published?.sha ?? null },
    ]);
    let merged: { previous: string | null; sha: string } | undefined;
    if (res.published) {
      merged = book.recordPublish(res.published, res.plan, res.tip);
      upsertSearchAttributes([{ key: SYNC_SA.publishedCommit, value: res.published.sha }]);
    }
    return { plan: res.plan, tip: res.tip, merged };
  }

  async function publish(
    plan: SyncPlan,
    target: string,
    tip: string,
  ): Promise<{ previous: string | null; sha: string }> {
    book.step(`publish ${target.slice(0, 12)}`);
    describe();
    const res = await publishSnapshot.executeWithOptions(
      { summary: `Publish ${target.slice(0, 12)} of ${input.repo}` },
      [{ sha: target }],
    );
    const merged = book.recordPublish(res, plan, tip);
    upsertSearchAttributes([{ key: SYNC_SA.publishedCommit, value: res.sha }]);
    return merged;
  }

  /** A step after a publish: if it fails, the publish stands and lastError says what is missing. */
  async function afterPublish(step: string, what: string, start: () => Promise<void>): Promise<void> {
    book.step(step);
    try {
      await start();
    } catch (err) {
      book.afterPublishFailed(what, failureMessage(err));
    }
  }
}

/** The operator-facing reason of an activity failure (the root cause, not the wrapper). */
function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return failureText(err);
  if (err instanceof Error) throw err; // not an activity failure: a bug, let the task fail visibly
  return String(err);
}
