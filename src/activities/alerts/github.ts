/**
 * Commit statuses on GitHub (or GitHub Enterprise, NBLC_GITHUB_API_URL) through octokit: context
 * `nblc/notebooks`, `pending` when a run starts, then `success` / `failure` / `error`, linking to
 * the run's signed report. The token (NBLC_GITHUB_TOKEN, "Commit statuses: write") stays in the
 * worker's config and out of every message.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Octokit } from '@octokit/rest';
import type { Config } from '../../platform/config.js';
import { redact } from '../../platform/secret.js';
import { NOTIFY_FAILURES } from '../../domain/alerts/model.js';
import { plural } from '../../domain/runs/status.js';

export const STATUS_CONTEXT = 'nblc/notebooks';
export type CommitState = 'pending' | 'success' | 'failure' | 'error';

export type GitHubConfig = Pick<Config, 'github' | 'repo'>;

/** GitHub caps a status description at 140 characters. */
const MAX_DESCRIPTION = 140;

/** Sets the status; false when no token is configured (statuses are off). */
export async function setCommitStatus(
  cfg: GitHubConfig,
  input: { sha: string; state: CommitState; description: string; targetUrl?: string; context?: string },
): Promise<boolean> {
  const token = cfg.github.token;
  if (!token) return false;
  const [owner, repo] = cfg.repo.fullName.split('/') as [string, string];
  const octokit = new Octokit({
    auth: token.reveal(),
    baseUrl: cfg.github.apiUrl,
    userAgent: 'nblc',
    request: { signal: AbortSignal.timeout(30_000) },
    // octokit logs warnings (deprecations) to the console; ours go through the activity's logger.
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
  const description =
    input.description.length > MAX_DESCRIPTION
      ? `${input.description.slice(0, MAX_DESCRIPTION - 1)}…`
      : input.description;
  try {
    await octokit.rest.repos.createCommitStatus({
      owner,
      repo,
      sha: input.sha,
      state: input.state,
      context: input.context ?? STATUS_CONTEXT,
      description,
      ...(input.targetUrl ? { target_url: input.targetUrl } : {}),
    });
    return true;
  } catch (err) {
    const status = (err as { status?: number }).status;
    const message = redact(`GitHub answered ${status ?? 'nothing'}: ${(err as Error).message}`, [token]);
    if (status && [401, 403, 404, 422].includes(status)) {
      throw ApplicationFailure.nonRetryable(
        `${message} (check NBLC_GITHUB_TOKEN: it needs "Commit statuses: write" on ${cfg.repo.fullName})`,
        NOTIFY_FAILURES.githubRejected,
      );
    }
    throw ApplicationFailure.retryable(message, NOTIFY_FAILURES.githubUnavailable);
  }
}

/** "3 of 40 notebooks did not pass (2 failed, 1 timed out)", from a run's counts. */
export function describeCounts(counts: Record<string, number> & { total: number; passed: number }): string {
  const skipped = counts.skipped ?? 0;
  const bad = counts.total - counts.passed - skipped;
  if (counts.total === 0) return 'no notebooks to test';
  if (bad === 0 && skipped === 0) return `all ${plural(counts.total, 'notebook')} passed`;
  if (bad === 0) return `${counts.passed} of ${plural(counts.total, 'notebook')} passed, ${skipped} skipped`;
  const parts = Object.entries(counts)
    .filter(([k, v]) => !['total', 'passed', 'flaky'].includes(k) && v > 0)
    .map(([k, v]) => `${v} ${k.replace(/_/g, ' ')}`);
  return `${bad} of ${counts.total} notebooks did not pass (${parts.join(', ')})`;
}
