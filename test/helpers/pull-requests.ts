/**
 * The pull-request tests' world: a service whose GitHub is a local stand-in, pull requests pushed
 * as GitHub stores them (refs/pull/<n>/head) and the `pull_request` events GitHub sends.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createApp } from '../../src/api/app.js';
import type { Upstream } from '../../src/demo/sample-repo.js';
import { createLogger } from '../../src/platform/logger.js';
import { sandbox } from './fixtures.js';
import { githubStandIn } from './receivers.js';

/**
 * A sandboxed service (its own queues, `prefix` in their names) whose GitHub API is a stand-in
 * that records statuses; `extra`: more settings. With the API app that receives the webhooks.
 */
export async function prService(env: TestWorkflowEnvironment, prefix: string, extra: Record<string, string> = {}) {
  const gh = await githubStandIn();
  const id = randomUUID().slice(0, 8);
  const box = await sandbox({
    NBLC_REPO_FULL_NAME: `test/${prefix}-${id}`,
    NBLC_TASK_QUEUE: `${prefix}-${id}`,
    NBLC_NOTEBOOK_TASK_QUEUE: `${prefix}-nb-${id}`,
    NBLC_GITHUB_TOKEN: 'ghp_test',
    NBLC_GITHUB_API_URL: gh.url,
    TEMPORAL_NAMESPACE: env.namespace ?? 'default',
    ...extra,
  });
  const app = createApp({ client: env.client, config: box.config, logger: createLogger('silent') });
  return { ...box, gh, app };
}

/** Commits `files` on the PR's branch (from main) and pushes it as GitHub does: refs/pull/<n>/head. */
export async function pushPr(upstream: Upstream, n: number, files: Record<string, string>): Promise<string> {
  const branch = `pr-${n}`;
  const branches = (await upstream.git.branchLocal()).all;
  await upstream.git.checkout(branches.includes(branch) ? [branch] : ['-b', branch, 'main']);
  const sha = await upstream.commit(files, `PR #${n}`); // pushes main, which did not move
  await upstream.git.push(['--force', 'origin', `HEAD:refs/pull/${n}/head`]);
  await upstream.git.checkout('main');
  return sha;
}

/** A `pull_request` event as GitHub sends it; `headRepo` other than `repo`: from a fork. */
export function prEvent(repo: string, n: number, action: string, head: string, headRepo = repo, base = 'main') {
  return {
    action,
    number: n,
    pull_request: {
      number: n,
      state: action === 'closed' ? 'closed' : 'open',
      head: { sha: head, ref: `pr-${n}`, repo: { full_name: headRepo } },
      base: { ref: base, sha: 'f'.repeat(40), repo: { full_name: repo } },
    },
    repository: { full_name: repo },
    sender: { login: 'contributor' },
  };
}
