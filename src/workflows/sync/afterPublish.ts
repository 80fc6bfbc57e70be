/**
 * What a publish starts, each a child workflow that outlives the sync: the merge's test run and
 * the update of users' copies. Both are started once per commit (their IDs are per commit), so a
 * retried pass finds them already started.
 */
import { ParentClosePolicy, patched, proxyActivities, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { quickLookup } from '../activityOptions.js';
import type { RunActivities } from '../../activities/runs/index.js';
import type { SyncActivities } from '../../activities/sync/index.js';
import { bulkCopyWorkflowId } from '../../domain/copies/model.js';
import { testNotebooks } from '../runs/testNotebooks.js';
import { userCopiesBulk } from '../copies/userCopiesBulk.js';

const { diffCommits, copyUpdateSettings } = proxyActivities<SyncActivities>(quickLookup());

const { mergeRunSettings } = proxyActivities<RunActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5 },
});

/**
 * After a publish, tests the notebooks that the merge changed (all of them after the first
 * publish) in a child run that outlives this workflow. One run per commit: a retried pass finds
 * it already started.
 */
export async function startMergeRun(previous: string | null, commit: string): Promise<void> {
  const settings = await mergeRunSettings();
  if (!settings) return;
  let paths: string[] | undefined;
  let changed: string[] | undefined;
  let tooMany = 0;
  if (previous) {
    const diff = await diffCommits({ from: previous, to: commit });
    // Versioned: since `change-impact` the run selects what the whole change touches (impact.ts),
    // and a change that touches nothing still gets its run, whose status says so. A change too
    // large to list tests the whole suite (older histories never recorded one).
    if (!Array.isArray(diff)) {
      tooMany = diff.tooMany;
    } else if (patched('change-impact')) {
      if (diff.length === 0) return;
      changed = diff;
    } else {
      paths = diff.filter((p) => p.endsWith('.ipynb'));
      if (paths.length === 0) return;
    }
  }
  const what = changed
    ? `the notebooks touched by ${changed.length} changed file(s)`
    : paths
      ? `${paths.length} changed notebook(s)`
      : tooMany
        ? `the notebook suite (${tooMany} changed files, too many to follow one by one)`
        : 'the notebook suite';
  await startOnce(
    startChild(testNotebooks, {
      workflowId: `test-run:merge-${commit.slice(0, 12)}`,
      args: [{ kind: 'merge', commit, ...(changed ? { changed } : { paths }), ...settings }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `merge test run of ${what} at ${commit.slice(0, 12)}`,
    }),
  );
}

/**
 * After a publish, when configured, updates every user's main copy in place: a bulk workflow
 * that outlives this one. One per commit; two overlapping ones are safe, since each user's
 * requests are served one at a time and an update always goes to the current snapshot.
 */
export async function startCopiesUpdate(commit: string): Promise<void> {
  const settings = await copyUpdateSettings();
  if (!settings) return;
  await startOnce(
    startChild(userCopiesBulk, {
      workflowId: `${bulkCopyWorkflowId('update')}:publish-${commit.slice(0, 12)}`,
      args: [{ mode: 'update', concurrency: settings.concurrency, maxQueued: settings.maxQueued }],
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
