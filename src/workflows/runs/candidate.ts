/**
 * Candidate runs in the workflow (issue 19): a run on another kernel, compared with a baseline
 * run. It stays out of everything users and the notebooks' history see: no history rows, no
 * alerts, no `status.json`, no commit status but its own optional `nblc/candidate`.
 */
import { isCancellation, log, patched, proxyActivities } from '@temporalio/workflow';
import type { AlertActivities } from '../../activities/alerts/index.js';
import { failureText } from '../failureText.js';
import type { Baseline, CandidateActivities } from '../../activities/runs/candidate.js';
import type { RunKind, TestRunInput } from '../../domain/runs/model.js';

const baselines = proxyActivities<CandidateActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5 },
});

/** Kinds whose runs never enter the notebooks' history (unmerged code; another kernel). */
export const NO_HISTORY_KINDS: readonly RunKind[] = ['pr', 'candidate'];
/** Kinds whose runs never alert (a PR's author sees its status; a candidate's operator its report). */
export const NO_ALERT_KINDS: readonly RunKind[] = ['pr', 'candidate'];

const statuses = proxyActivities<AlertActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2s', maximumInterval: '30s', maximumAttempts: 5 },
});

/** The `nblc/candidate` status (when NBLC_CANDIDATE_STATUS is on); its failure never fails the run. */
export async function candidateStatus(runId: string, allowNewFailures: number | undefined): Promise<void> {
  try {
    await statuses.setCandidateStatus.executeWithOptions({ summary: 'nblc/candidate status' }, [
      { runId, ...(allowNewFailures !== undefined ? { allowNewFailures } : {}) },
    ]);
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('the candidate status was not set', { runId, error: failureText(err) });
  }
}

/**
 * The baseline a candidate run is compared with (its run ID and the notebooks it ran, which the
 * run tests unless told otherwise); nothing for other runs. Versioned: `candidate-runs`.
 */
export async function candidateBaseline(
  runId: string,
  input: Pick<TestRunInput, 'kind' | 'compareWith'>,
): Promise<Baseline | undefined> {
  if (input.kind !== 'candidate' || !input.compareWith || !patched('candidate-runs')) return undefined;
  return baselines.resolveBaseline.executeWithOptions({ summary: `baseline: ${input.compareWith}` }, [
    { runId, compareWith: input.compareWith },
  ]);
}
