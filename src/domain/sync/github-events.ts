/** The parts of GitHub webhook payloads nblc relies on, validated with zod. */
import { z } from 'zod';

const sha = z.string().regex(/^[0-9a-f]{40}$/, 'a full 40-hex commit SHA');
export const ZERO_SHA = '0'.repeat(40);

export const pushPayload = z.object({
  ref: z.string().min(1),
  before: sha,
  after: sha,
  deleted: z.boolean().optional(),
  repository: z.object({ full_name: z.string().min(1) }),
  pusher: z.object({ name: z.string() }).optional(),
  sender: z.object({ login: z.string() }).optional(),
});
export type PushPayload = z.infer<typeof pushPayload>;

/** GitHub's X-GitHub-Delivery is a GUID; accept any short token-like ID, nothing that could inject. */
export const deliveryId = z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/);

/** Why an authentic push is not for us, or null when it should be synced. */
export function ignoreReason(p: PushPayload, repoFullName: string, branch: string): string | null {
  if (p.repository.full_name.toLowerCase() !== repoFullName.toLowerCase()) {
    return `repository ${p.repository.full_name} is not ${repoFullName}`;
  }
  if (p.ref.startsWith('refs/tags/')) return `tag push ${p.ref}`;
  if (p.deleted || p.after === ZERO_SHA) return `branch deletion of ${p.ref}`;
  if (p.ref !== `refs/heads/${branch}`) return `push to ${p.ref}, not refs/heads/${branch}`;
  return null;
}

/** A `pull_request` delivery: what a run of its notebooks needs, and what to check it against. */
export const pullRequestPayload = z.object({
  action: z.string().min(1),
  number: z.number().int().positive(),
  pull_request: z.object({
    head: z.object({
      sha,
      // null when the fork was deleted.
      repo: z.object({ full_name: z.string().min(1) }).nullable(),
    }),
    base: z.object({ ref: z.string().min(1), repo: z.object({ full_name: z.string().min(1) }) }),
  }),
  repository: z.object({ full_name: z.string().min(1) }),
});
export type PullRequestPayload = z.infer<typeof pullRequestPayload>;

/** Actions that put new code at the head of a PR (run it), and that end it (cancel its run). */
const RUN_ACTIONS = ['opened', 'synchronize', 'reopened'];

export type PullRequestDecision =
  { ignored: string } | { run: { number: number; head: string; fork: boolean } } | { cancel: { number: number } };

/** What to do with an authentic pull_request delivery for `repoFullName` / `branch`. */
export function pullRequestDecision(p: PullRequestPayload, repoFullName: string, branch: string): PullRequestDecision {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  if (!same(p.repository.full_name, repoFullName)) {
    return { ignored: `repository ${p.repository.full_name} is not ${repoFullName}` };
  }
  if (p.pull_request.base.ref !== branch) {
    return { ignored: `pull request #${p.number} is into ${p.pull_request.base.ref}, not ${branch}` };
  }
  if (p.action === 'closed') return { cancel: { number: p.number } };
  if (!RUN_ACTIONS.includes(p.action)) return { ignored: `pull request action ${p.action}` };
  const headRepo = p.pull_request.head.repo?.full_name;
  const fork = !headRepo || !same(headRepo, p.pull_request.base.repo.full_name);
  return { run: { number: p.number, head: p.pull_request.head.sha, fork } };
}
