/** Pull requests as GitHub makes them: a branch pushed as refs/pull/<n>/head, and its webhook event. */
import type { Upstream } from '../../src/demo/sample-repo.js';

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
