/**
 * Activities of the sync workflow. Each is idempotent: run twice, or retried after a crash at
 * any point, it converges to the same state on disk.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, type Logger } from '@temporalio/common';
import path from 'node:path';
import type { Config } from '../config.js';
import type { PublishResult, SyncPlan } from '../domain.js';
import { git } from './git.js';
import { withHeartbeat } from './heartbeat.js';
import { changedPaths, depth, fetchBranch as fetchInto, isAncestor, resolveCommit, trackingRef } from './repo.js';
import { materialize, prune, readCurrent, swapCurrent } from './snapshot.js';

export type SyncConfig = Pick<Config, 'repo' | 'dataDir' | 'cacheDir' | 'keepSnapshots' | 'updateCopiesOnPublish' | 'copyConcurrency'>;

export const cloneDir = (cfg: Pick<Config, 'dataDir'>) => path.join(cfg.dataDir, 'repo.git');

/** `onPublished`: told of each commit published (the copies' ready copy follows it). */
export function createSyncActivities(cfg: SyncConfig, onPublished?: (commit: string, log: Logger) => void) {
  const gitDir = cloneDir(cfg);
  const local = () => git({ baseDir: gitDir });

  return {
    /** The SHA `current` points at (the filesystem is the truth after a restart). */
    async readPublished(): Promise<string | null> {
      return readCurrent(cfg.cacheDir);
    },

    /** Fetches the branch into the private clone; returns its tip. */
    async fetchBranch(): Promise<{ tip: string }> {
      let progress: unknown;
      const tip = await withHeartbeat(
        (signal) =>
          fetchInto({
            gitDir,
            url: cfg.repo.url,
            branch: cfg.repo.branch,
            token: cfg.repo.token,
            signal,
            onProgress: (p) => (progress = p),
          }),
        () => progress,
      );
      return { tip };
    },

    /**
     * Decides what to publish from the commits a batch of beacons asked for: the newest one that
     * is on the branch, unless the published commit already contains it. Pure git reads.
     */
    async planSync(input: { candidates: string[]; published: string | null; tip: string }): Promise<SyncPlan> {
      const g = local();
      const plan: SyncPlan = { tip: input.tip, target: null, outcomes: {} };
      const onBranch: Array<{ candidate: string; sha: string; depth: number }> = [];
      for (const candidate of input.candidates) {
        const sha = await resolveCommit(g, candidate);
        if (!sha) {
          plan.outcomes[candidate] = {
            outcome: 'unreachable',
            reason: `commit ${candidate} does not exist in ${cfg.repo.fullName} after fetching ${cfg.repo.branch}: it was probably force-pushed away or pushed to another branch. Nothing was published; run "nblc sync" to publish the branch tip.`,
          };
        } else if (!(await isAncestor(g, sha, input.tip))) {
          plan.outcomes[candidate] = {
            outcome: 'unreachable',
            sha,
            reason: `commit ${sha} is not on branch ${cfg.repo.branch} of ${cfg.repo.fullName} (tip ${input.tip}): only commits of the configured branch are published. Run "nblc sync" to publish the branch tip.`,
          };
        } else {
          onBranch.push({ candidate, sha, depth: await depth(g, sha) });
        }
      }
      onBranch.sort((a, b) => b.depth - a.depth);
      const newest = onBranch[0];
      const published = input.published && (await resolveCommit(g, input.published));
      // The newest candidate is asked about twice (the target, then its outcome): one git call.
      const contained = new Map<string, Promise<boolean>>();
      const alreadyThere = (sha: string) => {
        if (!published) return Promise.resolve(false);
        if (!contained.has(sha)) contained.set(sha, isAncestor(g, sha, published));
        return contained.get(sha)!;
      };
      if (newest && !(await alreadyThere(newest.sha))) plan.target = newest.sha;
      for (const c of onBranch) {
        const outcome = c.sha === plan.target ? 'publish' : (await alreadyThere(c.sha)) ? 'stale' : 'superseded';
        plan.outcomes[c.candidate] = { outcome, sha: c.sha };
      }
      return plan;
    },

    /** Exports the commit's tree as an immutable snapshot, swaps `current` to it, prunes old ones. */
    async publishSnapshot(input: { sha: string }): Promise<PublishResult> {
      const g = local();
      const ref = trackingRef(cfg.repo.branch);
      // Snapshots are named by the full SHA (readCurrent and prune only know those names).
      const sha = await resolveCommit(g, input.sha);
      if (!sha) {
        throw ApplicationFailure.nonRetryable(
          `commit ${input.sha} is not in the private clone of ${cfg.repo.fullName}; it must be fetched first`,
          'CommitNotFound',
        );
      }
      if (!(await isAncestor(g, sha, ref))) {
        throw ApplicationFailure.nonRetryable(
          `commit ${sha} is not reachable from ${cfg.repo.branch}; refusing to publish it`,
          'CommitNotOnBranch',
        );
      }
      const snap = await withHeartbeat(
        (signal) => materialize({ gitDir, cacheDir: cfg.cacheDir, sha, signal }),
        () => ({ step: 'materialize', sha }),
      );
      await swapCurrent(cfg.cacheDir, sha);
      const pruned = await prune(cfg.cacheDir, cfg.keepSnapshots);
      onPublished?.(sha, Context.current().log);
      return { sha, path: snap.path, files: snap.files, reused: snap.reused, pruned };
    },

    /**
     * Whether to update every user's main copy after a publish (NBLC_UPDATE_COPIES_ON_PUBLISH),
     * read from the worker's config at that moment rather than fixed when the workflow started.
     */
    async copyUpdateSettings(): Promise<{ concurrency: number } | null> {
      return cfg.updateCopiesOnPublish ? { concurrency: cfg.copyConcurrency } : null;
    },

    /** Paths changed between two published commits (used to pick the notebooks a merge touched). */
    async diffCommits(input: { from: string; to: string }): Promise<string[]> {
      return changedPaths(local(), input.from, input.to);
    },
  };
}

export type SyncActivities = ReturnType<typeof createSyncActivities>;
