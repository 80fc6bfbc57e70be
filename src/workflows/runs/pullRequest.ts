/**
 * The steps of a `pr` run around its notebooks: the snapshot of the PR's head (never published)
 * and its removal, which must happen however the run ends (cancelled by a newer push, too).
 */
import { CancellationScope, isCancellation, log, proxyActivities } from '@temporalio/workflow';
import type { PullRequestActivities } from '../../activities/runs/pull-requests.js';
import type { PullRequestRef } from '../../domain/runs/model.js';
import { failureText } from '../failureText.js';
import { longFileWork } from '../activityOptions.js';

/** Fetch and export: network and disk, like the sync's fetch and publish. */
const pr = proxyActivities<PullRequestActivities>(longFileWork());

export async function pullRequestSnapshot(runId: string, ref: PullRequestRef) {
  return pr.preparePullRequest.executeWithOptions(
    { summary: `snapshot of pull request #${ref.number} at ${ref.head.slice(0, 12)}` },
    [{ runId, number: ref.number, head: ref.head, fork: ref.fork }],
  );
}

/** Removes the PR snapshot even while the run is being cancelled; a failure is only logged. */
export async function releasePullRequest(runId: string, ref?: PullRequestRef): Promise<void> {
  await CancellationScope.nonCancellable(async () => {
    try {
      await pr.releasePullRequest({ runId, number: ref?.number, head: ref?.head });
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('the pull request snapshot was not removed', { runId, error: failureText(err) });
    }
  });
}
