/**
 * Activities of the sync workflow. Each is idempotent: run twice, or retried after a crash at
 * any point, it converges to the same state on disk.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, type Logger } from '@temporalio/common';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../platform/config.js';
import { SYNC_FAILURES, type PublishResult, type SyncPlan } from '../../domain/sync/model.js';
import { git } from './git.js';
import { withHeartbeat } from '../heartbeat.js';
import {
  changedPaths,
  commitsSince,
  fetchBranch as fetchInto,
  isAncestor,
  resolveCommit,
  trackingRef,
} from './repo.js';
import { materialize, prune, readCurrent, swapCurrent } from './snapshot.js';
import { checkCommit, untrusted } from '../untrusted.js';

/**
 * A commit as beacons and `nblc sync --sha` name it: hex only (7 to 64 digits), so git reads it
 * as an object name, never as an option, a ref or a revision expression.
 */
function checkRev(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^[0-9a-f]{7,64}$/.test(value)) {
    throw untrusted(field, `${JSON.stringify(value)} is not a commit SHA`);
  }
  return value;
}

export type SyncConfig = Pick<Config, 'repo' | 'dataDir' | 'cacheDir' | 'keepSnapshots' | 'copies'>;

export const cloneDir = (cfg: Pick<Config, 'dataDir'>) => path.join(cfg.dataDir, 'repo.git');

/**
 * `onPublished`: told of each commit published once `current` points at it, with the commit it
 * replaced (the copies' manifest and ready copy follow it); awaited, and never fails the publish.
 */
export function createSyncActivities(
  cfg: SyncConfig,
  onPublished?: (commit: string, log: Logger, previous: string | null) => Promise<void> | void,
) {
  const gitDir = cloneDir(cfg);
  const local = () => git({ baseDir: gitDir });
  const fetch = () => {
    let progress: unknown;
    return withHeartbeat(
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
  };
  /**
   * Every worker host has its own clone, and Temporal may run `fetchBranch` on one host and the
   * next step of the pass on another: a step that needs commits this clone lacks fetches the
   * branch first (nothing to do when the clone has them, the usual case with one host).
   */
  const catchUp = async (shas: string[]) => {
    const resolve = () => Promise.all(shas.map((sha) => resolveCommit(local(), sha)));
    const found = existsSync(gitDir) ? await resolve() : [null];
    if (!found.some((sha) => !sha)) return found;
    await fetch();
    return resolve();
  };

  return {
    /** The SHA `current` points at (the filesystem is the truth after a restart). */
    async readPublished(): Promise<string | null> {
      return readCurrent(cfg.cacheDir);
    },

    /** Fetches the branch into the private clone; returns its tip. */
    async fetchBranch(): Promise<{ tip: string }> {
      return { tip: await fetch() };
    },

    /**
     * Decides what to publish from the commits a batch of beacons asked for: the newest one that
     * is on the branch, unless the published commit already contains it. Pure git reads: one
     * `rev-parse` per candidate and one `rev-list` of what the branch has beyond the published
     * commit (plus an ancestry check for a candidate outside it: a redelivery, or another branch).
     */
    async planSync(input: { candidates: string[]; published: string | null; tip: string }): Promise<SyncPlan> {
      if (!Array.isArray(input.candidates)) throw untrusted('candidates', 'not a list of commits');
      input.candidates.forEach((c) => checkRev(c, 'candidates'));
      checkCommit(input.tip, 'tip');
      if (input.published !== null) checkCommit(input.published, 'published');
      await catchUp([input.tip]);
      const g = local();
      const plan: SyncPlan = { tip: input.tip, target: null, outcomes: {} };
      // Newest first; a published commit missing from the clone counts as nothing published.
      const since = new Map((await commitsSince(g, input.tip, input.published)).map((sha, i) => [sha, i]));
      const fresh: Array<{ candidate: string; sha: string; rank: number }> = [];
      for (const candidate of input.candidates) {
        const sha = await resolveCommit(g, candidate);
        const rank = sha ? since.get(sha) : undefined;
        if (sha && rank !== undefined) {
          fresh.push({ candidate, sha, rank });
        } else if (sha && input.published && (await isAncestor(g, sha, input.tip))) {
          // On the branch, and not beyond the published commit: that one contains it.
          plan.outcomes[candidate] = { outcome: 'stale', sha };
        } else if (sha) {
          plan.outcomes[candidate] = {
            outcome: 'unreachable',
            sha,
            reason: `commit ${sha} is not on branch ${cfg.repo.branch} of ${cfg.repo.fullName} (tip ${input.tip}): only commits of the configured branch are published. Run "nblc sync" to publish the branch tip.`,
          };
        } else {
          plan.outcomes[candidate] = {
            outcome: 'unreachable',
            reason: `commit ${candidate} does not exist in ${cfg.repo.fullName} after fetching ${cfg.repo.branch}: it was probably force-pushed away or pushed to another branch. Nothing was published; run "nblc sync" to publish the branch tip.`,
          };
        }
      }
      fresh.sort((a, b) => a.rank - b.rank);
      plan.target = fresh[0]?.sha ?? null;
      for (const c of fresh)
        plan.outcomes[c.candidate] = { outcome: c.sha === plan.target ? 'publish' : 'superseded', sha: c.sha };
      return plan;
    },

    /** Exports the commit's tree as an immutable snapshot, swaps `current` to it, prunes old ones. */
    async publishSnapshot(input: { sha: string }): Promise<PublishResult> {
      // Snapshots are named by the full SHA (readCurrent and prune only know those names).
      const [sha] = await catchUp([checkRev(input.sha, 'sha')]);
      const g = local();
      const ref = trackingRef(cfg.repo.branch);
      if (!sha) {
        throw ApplicationFailure.nonRetryable(
          `commit ${input.sha} is not in the private clone of ${cfg.repo.fullName}; it must be fetched first`,
          SYNC_FAILURES.commitNotFound,
        );
      }
      if (!(await isAncestor(g, sha, ref))) {
        throw ApplicationFailure.nonRetryable(
          `commit ${sha} is not reachable from ${cfg.repo.branch}; refusing to publish it`,
          SYNC_FAILURES.commitNotOnBranch,
        );
      }
      // Built from the published snapshot when there is one: only what changed is written.
      const previous = await readCurrent(cfg.cacheDir);
      const snap = await withHeartbeat(
        (signal) => materialize({ gitDir, cacheDir: cfg.cacheDir, sha, previous, signal }),
        () => ({ step: 'materialize', sha }),
      );
      await swapCurrent(cfg.cacheDir, sha);
      // Before pruning: the copies' work reads the previous snapshot.
      const log = Context.current().log;
      if (onPublished)
        await withHeartbeat(
          async () => onPublished(sha, log, previous),
          () => ({ step: 'copies', sha }),
        );
      const pruned = await prune(cfg.cacheDir, cfg.keepSnapshots);
      return { sha, path: snap.path, files: snap.files, reused: snap.reused, pruned };
    },

    /**
     * Whether to update every user's main copy after a publish (NBLC_UPDATE_COPIES_ON_PUBLISH),
     * read from the worker's config at that moment rather than fixed when the workflow started.
     */
    async copyUpdateSettings(): Promise<{ concurrency: number; maxQueued: number } | null> {
      const { updateOnPublish, concurrency, maxQueued } = cfg.copies;
      return updateOnPublish ? { concurrency, maxQueued } : null;
    },

    /** Paths changed between two published commits (used to pick the notebooks a merge touched). */
    async diffCommits(input: { from: string; to: string }): Promise<string[]> {
      checkCommit(input.from, 'from');
      checkCommit(input.to, 'to');
      await catchUp([input.from, input.to]);
      return changedPaths(local(), input.from, input.to);
    },
  };
}

export type SyncActivities = ReturnType<typeof createSyncActivities>;
