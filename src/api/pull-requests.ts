/**
 * `pull_request` deliveries on POST /webhooks/github (after the signature and event headers):
 * a PR into the configured branch that is opened, pushed to or reopened starts a `pr` run of the
 * notebooks it changes at its head commit (cancelling the run of its previous head); closing it
 * cancels its run. Whether a fork's PR is run is the worker's decision (NBLC_PR_FROM_FORKS).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { cancelPullRequestRuns, startPullRequestRun } from '../clients/runs/client.js';
import { pullRequestDecision, pullRequestPayload } from '../domain/sync/github-events.js';
import type { ApiDeps } from './deps.js';
import type { GithubEventEnv } from './middleware/github-event.js';
import { NOT_JSON, TEMPORAL_DEADLINE_MS, temporalUnreachable } from './middleware/github-event.js';
import { zodJson } from './middleware/zod-json.js';

export type PullRequestDeps = ApiDeps<'repo' | 'taskQueue' | 'temporal' | 'tests'>;

/** Answers pull_request deliveries; hands every other event on. */
export function pullRequestRoute(deps: PullRequestDeps): MiddlewareHandler<GithubEventEnv> {
  const validate = zodJson<typeof pullRequestPayload, GithubEventEnv>(pullRequestPayload, {
    notJson: NOT_JSON,
    invalid: 'invalid pull_request payload',
  });
  return async (c, next) => {
    if (c.get('githubEvent') !== 'pull_request') return next();
    let answer: Response | undefined;
    // The validated value is the same text parsed again (Hono caches the body).
    const refused = await validate(c as Parameters<typeof validate>[0], async () => {
      answer = await handle(c, deps);
    });
    return refused ?? answer;
  };
}

async function handle(c: Context<GithubEventEnv>, deps: PullRequestDeps): Promise<Response> {
  const payload = pullRequestPayload.parse(JSON.parse(await c.req.text()));
  const log = deps.logger.child({ delivery: c.get('githubDelivery'), event: 'pull_request', pr: payload.number });
  const decision = pullRequestDecision(payload, deps.config.repo.fullName, deps.config.repo.branch);
  if ('ignored' in decision) {
    log.info({ ignored: decision.ignored }, 'ignored pull request event');
    return c.json({ ignored: decision.ignored }, 202);
  }
  try {
    return await deps.client.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, async () => {
      if ('cancel' in decision) {
        const cancelled = await cancelPullRequestRuns(deps.client, decision.cancel.number);
        log.info({ cancelled }, 'pull request closed: its runs cancelled');
        return c.json({ cancelled }, 202);
      }
      const started = await startPullRequestRun(deps.client, deps.config, decision.run);
      log.info({ workflowId: started.workflowId, cancelled: started.cancelled }, 'pull request run started');
      return c.json(started, 202);
    });
  } catch (err) {
    log.error({ err: (err as Error).message }, 'could not start or cancel the pull request run');
    return temporalUnreachable(c);
  }
}
