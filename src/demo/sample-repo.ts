/**
 * A sample upstream notebooks repository (a local bare git repo plus a working clone that
 * "merges" into it). Used by the demo, the tests and the benchmarks.
 */
import { sign } from '@octokit/webhooks-methods';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';

export interface CellSpec {
  source: string;
  tags?: string[];
  type?: 'code' | 'markdown';
}

/** An nbformat 4 notebook as JSON text; `kernel: null` leaves out the kernelspec. */
export function notebook(cells: Array<string | CellSpec>, kernel: string | null = 'python3'): string {
  const metadata = kernel
    ? { kernelspec: { name: kernel, display_name: kernel, language: 'python' }, language_info: { name: 'python' } }
    : {};
  return JSON.stringify(
    {
      nbformat: 4,
      nbformat_minor: 5,
      metadata,
      cells: cells.map((c, i) => {
        const spec = typeof c === 'string' ? { source: c } : c;
        const base = {
          id: `cell-${i}`,
          cell_type: spec.type ?? 'code',
          metadata: spec.tags ? { tags: spec.tags } : {},
          source: spec.source,
        };
        return base.cell_type === 'code' ? { ...base, execution_count: null, outputs: [] } : base;
      }),
    },
    null,
    1,
  );
}

export type FileContent = string | Buffer | { content: string | Buffer; mode: number } | null;

export interface Upstream {
  /** The URL nblc fetches from (a path to the bare repository). */
  url: string;
  workDir: string;
  git: SimpleGit;
  /** Writes (or, with null, deletes) files, commits, pushes the branch; returns the new SHA. */
  commit(files: Record<string, FileContent>, message?: string): Promise<string>;
  /** Pushes a commit that replaces the branch history (a force push); returns the new SHA. */
  forcePush(files: Record<string, FileContent>, message?: string): Promise<string>;
}

const AUTHOR = {
  GIT_AUTHOR_NAME: 'Notebook Curator',
  GIT_AUTHOR_EMAIL: 'curator@example.org',
  GIT_COMMITTER_NAME: 'Notebook Curator',
  GIT_COMMITTER_EMAIL: 'curator@example.org',
};

export async function createUpstream(dir: string, branch = 'main'): Promise<Upstream> {
  const bare = path.join(dir, 'notebooks.git');
  const workDir = path.join(dir, 'work');
  await fs.mkdir(bare, { recursive: true });
  await fs.mkdir(workDir, { recursive: true });
  await simpleGit(bare).raw(['init', '--bare', '--quiet', `--initial-branch=${branch}`]);
  const git = simpleGit(workDir);
  await git.raw(['init', '--quiet', `--initial-branch=${branch}`]);
  await git.addConfig('user.name', AUTHOR.GIT_AUTHOR_NAME).addConfig('user.email', AUTHOR.GIT_AUTHOR_EMAIL);
  await git.addRemote('origin', bare);

  const write = async (files: Record<string, FileContent>) => {
    for (const [rel, content] of Object.entries(files)) {
      const p = path.join(workDir, rel);
      if (content === null) {
        await fs.rm(p, { force: true, recursive: true });
        continue;
      }
      await fs.mkdir(path.dirname(p), { recursive: true });
      const spec = typeof content === 'string' || Buffer.isBuffer(content) ? { content, mode: 0o644 } : content;
      await fs.writeFile(p, spec.content);
      await fs.chmod(p, spec.mode);
    }
  };
  const commitAll = async (message: string) => {
    await git.add(['-A']);
    await git.commit(message, undefined, { '--allow-empty': null });
    return (await git.revparse(['HEAD'])).trim();
  };
  return {
    url: bare,
    workDir,
    git,
    async commit(files, message = 'Merge pull request') {
      await write(files);
      const sha = await commitAll(message);
      await git.push('origin', branch);
      return sha;
    },
    async forcePush(files, message = 'Rewrite history') {
      await git.raw(['checkout', '--quiet', '--orphan', `rewrite-${Date.now()}`]);
      await write(files);
      const sha = await commitAll(message);
      await git.push(['--force', 'origin', `HEAD:${branch}`]);
      return sha;
    },
  };
}

/** A GitHub push event payload with the fields GitHub sends that nblc reads. */
export function pushEvent(p: {
  repo: string;
  branch?: string;
  ref?: string;
  before: string;
  after: string;
  pusher?: string;
}) {
  return {
    ref: p.ref ?? `refs/heads/${p.branch ?? 'main'}`,
    before: p.before,
    after: p.after,
    created: false,
    deleted: p.after === '0'.repeat(40),
    forced: false,
    repository: { full_name: p.repo, name: p.repo.split('/')[1], default_branch: 'main' },
    pusher: { name: p.pusher ?? 'curator', email: 'curator@example.org' },
    sender: { login: p.pusher ?? 'curator' },
    head_commit: { id: p.after, message: 'Merge pull request #1' },
  };
}

/** The headers GitHub sends with a delivery of `event` whose body is `body`, signed with `secret`. */
export async function deliveryHeaders(secret: string, event: string, body: string, deliveryId: string = randomUUID()) {
  return {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': deliveryId,
    'x-hub-signature-256': await sign(secret, body),
  };
}

/** POSTs a signed push event to a webhook URL the way GitHub does; the caller reads the response. */
export async function sendPush(
  webhookUrl: string,
  secret: string,
  push: Parameters<typeof pushEvent>[0],
  deliveryId?: string,
): Promise<Response> {
  const body = JSON.stringify(pushEvent(push));
  return fetch(webhookUrl, { method: 'POST', headers: await deliveryHeaders(secret, 'push', body, deliveryId), body });
}
