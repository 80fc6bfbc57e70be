/**
 * The snapshot of a pull request's head for its `pr` run: fetched from `refs/pull/<n>/head` into
 * a repository of the run's own (pr-repo.ts: never the private clone) and exported like a published snapshot, but under
 * `$NBLC_CACHE_DIR/.pr-snapshots/<runId>/` (mode 0700: users' notebook servers, which mount the
 * cache, cannot read unreviewed code; notebook workers on other hosts share the cache), never
 * under `snapshots/` or `current`, and removed when the run ends (with the PR's head ref, unless
 * a newer push moved it). The notebooks run are those
 * the PR changes against its merge base with the configured branch. A head whose tree is over
 * NBLC_PR_MAX_FILES or NBLC_PR_MAX_BYTES is not exported: the run is skipped with a status saying why.
 */
import { ApplicationFailure } from '@temporalio/common';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../platform/config.js';
import { SYNC_FAILURES } from '../../domain/sync/model.js';
import { removeTree } from '../files.js';
import { resetRunDir } from './notebooks.js';
import { prSnapshotsDir, writeRunRecord } from './run-record.js';
import { checkCommit, checkRunId, untrusted } from '../untrusted.js';
import { withHeartbeat } from '../heartbeat.js';
import { git, gitFailure } from '../sync/git.js';
import { cloneDir } from '../sync/index.js';
import { changedPaths, ensureClone, isAncestor, resolveCommit } from '../sync/repo.js';
import { materialize } from '../sync/snapshot.js';
import { treeOverLimits } from './pr-limits.js';
import { freshPrRepo, removePrRepo } from './pr-repo.js';

export type PullRequestConfig = Pick<Config, 'repo' | 'dataDir' | 'cacheDir' | 'resultsDir' | 'github'>;

export { prSnapshotsDir };

/** A pull request's number, or the refusal. */
function checkNumber(value: unknown): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1)
    throw untrusted('number', `${JSON.stringify(value)} is not a pull request number`);
  return value as number;
}

export interface PreparedPullRequest {
  /** The head commit that is tested. */
  commit: string;
  root: string;
  /** The notebooks (and other files) the PR changes against its merge base. */
  paths: string[];
  /** Why its notebooks are not run (a fork's PR without NBLC_PR_FROM_FORKS). */
  skipped?: string;
}

export function createPullRequestActivities(cfg: PullRequestConfig) {
  return {
    async preparePullRequest(input: {
      runId: string;
      number: number;
      head: string;
      fork: boolean;
    }): Promise<PreparedPullRequest> {
      const runId = checkRunId(input.runId);
      checkNumber(input.number);
      checkCommit(input.head, 'head');
      await resetRunDir(cfg.resultsDir, runId);
      if (input.fork !== false && !cfg.github.prFromForks) {
        // Not run: still the run's commit, so that its `error` status names this head only.
        await writeRunRecord(cfg.resultsDir, runId, { commit: input.head, source: 'pr', prPaths: [] });
        return {
          commit: input.head,
          root: '',
          paths: [],
          skipped: 'not run: pull requests from forks are tested after merge (NBLC_PR_FROM_FORKS=false)',
        };
      }
      // The PR's objects go into the run's own repository (pr-repo.ts), the clone only lends its own.
      await ensureClone(cloneDir(cfg));
      const gitDir = await freshPrRepo(cfg.dataDir, runId, cloneDir(cfg));
      const headRef = `refs/nblc/pr/${input.number}/head`;
      const baseRef = `refs/nblc/pr/${input.number}/base`;
      // However this attempt ends short of a snapshot (a failure, a cancellation by a newer push
      // before the run has anything to release), the PR's objects go with it.
      const discard = async (err: unknown) => {
        await removePrRepo(cfg.dataDir, runId);
        await removeTree(path.join(prSnapshotsDir(cfg.cacheDir), runId));
        throw err;
      };
      return withHeartbeat(
        async (signal) => {
          const g = git({ baseDir: gitDir, signal, token: cfg.repo.token });
          try {
            // Own refs: the sync's fetch of the branch (refs/remotes/origin/…) is left alone.
            await g.raw([
              'fetch',
              '--no-tags',
              '--quiet',
              cfg.repo.url,
              `+refs/pull/${input.number}/head:${headRef}`,
              `+refs/heads/${cfg.repo.branch}:${baseRef}`,
            ]);
          } catch (err) {
            throw gitFailure(err, `fetching pull request #${input.number}`, [cfg.repo.token]);
          }
          // Only a commit of this pull request's head: never another one's, nor an unrelated object.
          const resolved = await resolveCommit(g, input.head);
          const head = resolved && (await isAncestor(g, resolved, headRef)) ? resolved : null;
          if (!head) {
            throw ApplicationFailure.nonRetryable(
              `commit ${input.head} of pull request #${input.number} is not there any more (a newer push replaced it; the run of that one tests it)`,
              SYNC_FAILURES.commitNotFound,
            );
          }
          const over = await treeOverLimits(gitDir, head, {
            maxFiles: cfg.github.prMaxFiles,
            maxBytes: cfg.github.prMaxBytes,
          });
          if (over) return { commit: head, root: '', paths: [], skipped: over };
          const base = (await g.raw(['merge-base', head, baseRef])).trim();
          const paths = base ? await changedPaths(g, base, head) : [];
          const parent = prSnapshotsDir(cfg.cacheDir);
          await fs.mkdir(parent, { recursive: true, mode: 0o700 });
          await fs.chmod(parent, 0o700);
          const snap = await materialize({ gitDir, cacheDir: path.join(parent, runId), sha: head, signal });
          await writeRunRecord(cfg.resultsDir, runId, { commit: head, source: 'pr', prPaths: paths });
          return { commit: head, root: snap.path, paths };
        },
        () => ({ step: 'pull request snapshot', number: input.number }),
      ).catch(discard);
    },

    /**
     * Removes the run's PR snapshot and its repository with the PR's objects (pr-repo.ts); and,
     * for runs from before that repository, the PR's head ref in the clone if it still points at
     * this run's head (compare-and-delete: a newer push's fetch has moved it, and its run still
     * needs it), so that git can collect a closed PR's objects. Idempotent.
     */
    async releasePullRequest(input: { runId: string; number?: number; head?: string }): Promise<void> {
      const runId = checkRunId(input.runId);
      await removeTree(path.join(prSnapshotsDir(cfg.cacheDir), runId));
      await removePrRepo(cfg.dataDir, runId);
      if (!Number.isInteger(input.number) || !/^[0-9a-f]{40}$/.test(input.head ?? '')) return;
      await git({ baseDir: cloneDir(cfg) })
        .raw(['update-ref', '-d', `refs/nblc/pr/${input.number}/head`, input.head!])
        .catch(() => undefined); // moved on, or never fetched (a fork's PR)
    },
  };
}

export type PullRequestActivities = ReturnType<typeof createPullRequestActivities>;
