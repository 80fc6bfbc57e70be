/**
 * The optional commit status of a candidate run (issue 19, NBLC_CANDIDATE_STATUS): context
 * `nblc/candidate` on the commit the run tested, decided from the run's own report (its
 * comparison with the baseline) and the run's allowance of newly failing notebooks, so that a
 * rollout can wait for it like for any check. Never `nblc/notebooks`: that one is the users'.
 */
import path from 'node:path';
import { gatePasses, type RunComparison } from '../../domain/runs/comparison.js';
import { isObject, REPORT_FILES } from '../../domain/runs/run-dir.js';
import { plural } from '../../domain/runs/status.js';
import { readTextCapped } from '../../platform/capped-read.js';
import { REPORT_LIMITS } from '../runs/report/limits.js';
import { checkRunId, untrusted } from '../untrusted.js';
import { setCommitStatus, type GitHubConfig } from './github.js';
import { ranCounts } from './ran.js';

export const CANDIDATE_CONTEXT = 'nblc/candidate';

export async function setCandidateStatus(
  cfg: GitHubConfig & { resultsDir: string },
  input: { runId: string; allowNewFailures?: number },
  link: (runId: string) => string | undefined,
): Promise<boolean> {
  const runId = checkRunId(input.runId);
  if (!cfg.github.candidateStatus) return false;
  const allowed = Number.isInteger(input.allowNewFailures) ? Math.max(0, input.allowNewFailures!) : 0;
  // The commit the worker recorded for the run, never one a workflow names.
  const { commit } = await ranCounts(cfg.resultsDir, runId);
  if (!commit) throw untrusted('runId', `run ${runId} has no record of its commit`);
  const raw: unknown = JSON.parse(
    await readTextCapped(path.join(cfg.resultsDir, runId, REPORT_FILES.json), REPORT_LIMITS.reportFile),
  );
  const comparison = isObject(raw) && isObject(raw.comparison) ? (raw.comparison as unknown as RunComparison) : null;
  if (!comparison || !isObject(comparison.counts)) {
    return setCommitStatus(cfg, {
      sha: commit,
      state: 'error',
      description: 'the candidate run has no comparison with its baseline',
      context: CANDIDATE_CONTEXT,
    });
  }
  const newly = Number(comparison.counts['newly failing']) || 0;
  const fixed = Number(comparison.counts.fixed) || 0;
  const description =
    `${plural(newly, 'notebook')} newly failing, ${fixed} fixed on ${comparison.kernel ?? '?'} ` +
    `against ${comparison.baseline?.runId ?? '?'}${allowed ? ` (${allowed} allowed)` : ''}`;
  return setCommitStatus(cfg, {
    sha: commit,
    state: gatePasses(comparison, allowed) ? 'success' : 'failure',
    description,
    targetUrl: link(runId),
    context: CANDIDATE_CONTEXT,
  });
}
