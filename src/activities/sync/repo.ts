/**
 * The private clone: a bare repository under the data directory that only the sync activities
 * touch. It is never the published tree; snapshots are exported from it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { SimpleGit } from 'simple-git';
import { git, gitFailure, type GitOptions } from './git.js';
import { Secret } from '../../platform/secret.js';

const STALE_LOCK_MS = 60_000;

export const trackingRef = (branch: string) => `refs/remotes/origin/${branch}`;

/** Creates the bare clone if needed (git init is idempotent) and clears locks left by a crash. */
export async function ensureClone(gitDir: string): Promise<void> {
  // What `git init` writes last: a clone that has it needs no init (a git process per fetch).
  const made = await Promise.all(
    ['HEAD', 'config', 'objects', 'refs'].map((f) => fs.stat(path.join(gitDir, f)).catch(() => null)),
  );
  if (made.some((st) => !st)) {
    await fs.mkdir(gitDir, { recursive: true });
    // Not --quiet: simple-git waits 50 ms more for a git that printed nothing (git.ts).
    await git({ baseDir: gitDir }).raw(['init', '--bare']);
  }
  await clearStaleLocks(gitDir);
}

/**
 * A git process killed mid-fetch leaves `*.lock` files that make every later fetch fail.
 * Fetches into this clone are serialized by the sync workflow, so a lock older than any
 * attempt's heartbeat timeout belongs to a dead process.
 */
async function clearStaleLocks(gitDir: string): Promise<void> {
  const now = Date.now();
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.lock')) {
        const st = await fs.stat(p).catch(() => null);
        if (st && now - st.mtimeMs > STALE_LOCK_MS) await fs.rm(p, { force: true });
      }
    }
  };
  await walk(path.join(gitDir, 'refs'));
  for (const f of ['packed-refs.lock', 'shallow.lock', 'index.lock', 'config.lock']) {
    const st = await fs.stat(path.join(gitDir, f)).catch(() => null);
    if (st && now - st.mtimeMs > STALE_LOCK_MS) await fs.rm(path.join(gitDir, f), { force: true });
  }
}

/** Fetches `branch` from `url` into the clone; returns the branch tip. */
export async function fetchBranch(opts: {
  gitDir: string;
  url: string;
  branch: string;
  token?: Secret;
  signal?: AbortSignal;
  onProgress?: GitOptions['onProgress'];
}): Promise<string> {
  await ensureClone(opts.gitDir);
  const g = git({ baseDir: opts.gitDir, signal: opts.signal, token: opts.token, onProgress: opts.onProgress });
  const ref = trackingRef(opts.branch);
  try {
    // --verbose: it always prints the refs it updated, so simple-git does not wait 50 ms more (git.ts).
    await g.raw(['fetch', '--prune', '--no-tags', '--verbose', opts.url, `+refs/heads/${opts.branch}:${ref}`]);
  } catch (err) {
    throw gitFailure(err, `fetching ${opts.branch}`, [opts.token, ...urlCredentials(opts.url)]);
  }
  return (await looseRef(opts.gitDir, ref)) ?? (await g.raw(['rev-parse', '--verify', ref])).trim();
}

/**
 * The commit a loose ref file names, read without a git process (a fetch that moved the ref
 * wrote it this way); null when the ref is packed, symbolic or anything else: ask git then.
 */
async function looseRef(gitDir: string, ref: string): Promise<string | null> {
  const text = await fs.readFile(path.join(gitDir, ref), 'latin1').catch(() => '');
  return /^[0-9a-f]{40}\n$/.test(text) ? text.trim() : null;
}

/**
 * The credentials of a URL (`scheme://user:password@host/…`), as written and percent-decoded:
 * git does not hide them in every message (e.g. "unable to look up user:password@host" for git://).
 */
function urlCredentials(url: string): Secret[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return []; // scp-like `user@host:path` or a local path: no password to hide
  }
  const decode = (v: string) => {
    try {
      return decodeURIComponent(v);
    } catch {
      return v;
    }
  };
  const { username: user, password: pass } = u;
  // The whole user info first (it contains the parts), then the password alone. Without a
  // password the user name is the secret (`https://<token>@host/…`).
  const values = pass
    ? [`${user}:${pass}`, `${decode(user)}:${decode(pass)}`, pass, decode(pass)]
    : [user, decode(user)];
  return values.filter(Boolean).map((v) => new Secret(v));
}

/** The full SHA of `rev` if it names a commit in the clone, else null. */
export async function resolveCommit(g: SimpleGit, rev: string): Promise<string | null> {
  // --quiet: a missing object exits 1 with no output instead of an error.
  const out = (await g.raw(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`])).trim();
  return out || null;
}

/** Whether `a` is an ancestor of, or equal to, `b`: nothing reachable from a is missing from b. */
export async function isAncestor(g: SimpleGit, a: string, b: string): Promise<boolean> {
  // --count prints 0 rather than nothing (simple-git waits 50 ms more for a silent git, git.ts).
  const out = await g.raw(['rev-list', '--count', '-n', '1', a, '--not', b]);
  return out.trim() === '0';
}

/**
 * The commits reachable from `tip` but not from `published` (all of tip's history when that is
 * null or not in the clone), children before parents: none is an ancestor of one listed before it.
 * One git process, whatever the number of candidates; usually a handful of commits.
 */
export async function commitsSince(g: SimpleGit, tip: string, published: string | null): Promise<string[]> {
  const args = ['rev-list', '--topo-order', '--ignore-missing', tip, ...(published ? ['--not', published] : [])];
  return (await g.raw(args)).split('\n').filter(Boolean);
}

/** Paths that differ between two commits (for merge-triggered test runs). */
export async function changedPaths(g: SimpleGit, from: string, to: string): Promise<string[]> {
  const out = await g.raw(['diff', '--name-only', '--no-renames', '-z', from, to]);
  return out.split('\0').filter(Boolean);
}
