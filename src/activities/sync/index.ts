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

const FULL_SHA = /^[0-9a-f]{40}$/;

/** What diffCommits lists at most (paths, and their bytes as JSON): far below Temporal's payload cap. */
export const MAX_CHANGED_PATHS = 5000;
export const MAX_CHANGED_BYTES = 256 * 1024;
/** The changed paths, or how many there were when too many to list. */
export type ChangedPaths = string[] | { tooMany: number };

export type SyncConfig = Pick<Config, 'repo' | 'dataDir' | 'cacheDir' | 'keepSnapshots' | 'copies'>;

export const cloneDir = (cfg: Pick<Config, 'dataDir'>) => path.join(cfg.dataDir, 'repo.git');

/**
 * `onPublished`: told of each commit published once `current` points at it, with the commit it
 * replaced (the copies' manifest and ready copy follow it); awaited, and never fails the publish.
 * The first publish on a host (nothing published before) tells it before the swap, `ahead`: no
 * request can want a copy yet, and the first one then finds its ready copy made.
 */
export function createSyncActivities(
  cfg: SyncConfig,
  onPublished?: (commit: string, log: Logger, previous: string | null, ahead: boolean) => Promise<void> | void,
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

  /**
   * The plan of planSync: pure git reads, one `rev-parse` per candidate and one `rev-list` of what
   * the branch has beyond the published commit, at once (plus an ancestry check for a candidate
   * outside it: a redelivery, or another branch). Inputs checked by the caller.
   */
  const plan = async (input: { candidates: string[]; published: string | null; tip: string }): Promise<SyncPlan> => {
    const g = local();
    const result: SyncPlan = { tip: input.tip, target: null, outcomes: {} };
    // Newest first; a published commit missing from the clone counts as nothing published.
    const [since, resolved] = await Promise.all([
      commitsSince(g, input.tip, input.published).then((list) => new Map(list.map((sha, i) => [sha, i]))),
      // A full SHA among them needs no git to resolve it (`since` is read before it is used).
      Promise.all(input.candidates.map((c) => (FULL_SHA.test(c) ? null : resolveCommit(g, c)))),
    ]);
    const fresh: Array<{ candidate: string; sha: string; rank: number }> = [];
    for (const [i, candidate] of input.candidates.entries()) {
      const sha = resolved[i] ?? (since.has(candidate) ? candidate : await resolveCommit(g, candidate));
      const rank = sha ? since.get(sha) : undefined;
      if (sha && rank !== undefined) {
        fresh.push({ candidate, sha, rank });
      } else if (sha && input.published && (await isAncestor(g, sha, input.tip))) {
        // On the branch, and not beyond the published commit: that one contains it.
        result.outcomes[candidate] = { outcome: 'stale', sha };
      } else if (sha) {
        result.outcomes[candidate] = {
          outcome: 'unreachable',
          sha,
          reason: `commit ${sha} is not on branch ${cfg.repo.branch} of ${cfg.repo.fullName} (tip ${input.tip}): only commits of the configured branch are published. Run "nblc sync" to publish the branch tip.`,
        };
      } else {
        result.outcomes[candidate] = {
          outcome: 'unreachable',
          reason: `commit ${candidate} does not exist in ${cfg.repo.fullName} after fetching ${cfg.repo.branch}: it was probably force-pushed away or pushed to another branch. Nothing was published; run "nblc sync" to publish the branch tip.`,
        };
      }
    }
    fresh.sort((a, b) => a.rank - b.rank);
    result.target = fresh[0]?.sha ?? null;
    for (const c of fresh)
      result.outcomes[c.candidate] = { outcome: c.sha === result.target ? 'publish' : 'superseded', sha: c.sha };
    return result;
  };

  /**
   * The publish of a commit known to be in the clone and on the branch: the snapshot, the swap
   * of `current`; then, once readers see it, the copies' work and pruning.
   */
  const publish = async (sha: string): Promise<PublishResult> => {
    // Built from the published snapshot when there is one: only what changed is written.
    const previous = await readCurrent(cfg.cacheDir);
    const snap = await withHeartbeat(
      (signal) => materialize({ gitDir, cacheDir: cfg.cacheDir, sha, previous, signal }),
      () => ({ step: 'materialize', sha }),
    );
    const log = Context.current().log;
    const copies = (ahead: boolean) =>
      onPublished &&
      withHeartbeat(
        async () => onPublished(sha, log, previous, ahead),
        () => ({ step: 'copies', sha }),
      );
    if (!previous) await copies(true);
    await swapCurrent(cfg.cacheDir, sha);
    // Before pruning: the copies' work reads the previous snapshot.
    if (previous) await copies(false);
    const pruned = await prune(cfg.cacheDir, cfg.keepSnapshots);
    return { sha, path: snap.path, files: snap.files, reused: snap.reused, pruned };
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
     * is on the branch, unless the published commit already contains it (see `plan`).
     */
    async planSync(input: { candidates: string[]; published: string | null; tip: string }): Promise<SyncPlan> {
      if (!Array.isArray(input.candidates)) throw untrusted('candidates', 'not a list of commits');
      input.candidates.forEach((c) => checkRev(c, 'candidates'));
      checkCommit(input.tip, 'tip');
      if (input.published !== null) checkCommit(input.published, 'published');
      await catchUp([input.tip]);
      return plan(input);
    },

    /** Exports the commit's tree as an immutable snapshot, swaps `current` to it, prunes old ones. */
    async publishSnapshot(input: { sha: string }): Promise<PublishResult> {
      // Snapshots are named by the full SHA (readCurrent and prune only know those names).
      const [sha] = await catchUp([checkRev(input.sha, 'sha')]);
      if (!sha) {
        throw ApplicationFailure.nonRetryable(
          `commit ${input.sha} is not in the private clone of ${cfg.repo.fullName}; it must be fetched first`,
          SYNC_FAILURES.commitNotFound,
        );
      }
      if (!(await isAncestor(local(), sha, trackingRef(cfg.repo.branch)))) {
        throw ApplicationFailure.nonRetryable(
          `commit ${sha} is not reachable from ${cfg.repo.branch}; refusing to publish it`,
          SYNC_FAILURES.commitNotOnBranch,
        );
      }
      return publish(sha);
    },

    /**
     * A whole pass in one activity (fetch, plan, publish): what fetchBranch, planSync and
     * publishSnapshot do one after the other, without the two workflow tasks and activity round
     * trips between them, and without their checks that only matter across hosts (each of those
     * may run on another host's clone; here the commits were fetched into this clone just now,
     * and the target, being among the commits the fetched tip has beyond the published one, is on
     * the branch). `shas`: the commits the beacons name; `tip`: whether one asked for the tip.
     */
    async syncPass(input: {
      shas: string[];
      tip: boolean;
      published: string | null;
    }): Promise<{ tip: string; plan: SyncPlan; published: PublishResult | null }> {
      if (!Array.isArray(input.shas)) throw untrusted('shas', 'not a list of commits');
      input.shas.forEach((c) => checkRev(c, 'shas'));
      if (typeof input.tip !== 'boolean') throw untrusted('tip', 'not true or false');
      if (input.published !== null) checkCommit(input.published, 'published');
      const tip = await fetch();
      const candidates = [...new Set([...input.shas, ...(input.tip ? [tip] : [])])];
      const planned = await plan({ candidates, published: input.published, tip });
      return { tip, plan: planned, published: planned.target ? await publish(planned.target) : null };
    },

    /**
     * Whether to update every user's main copy after a publish (NBLC_UPDATE_COPIES_ON_PUBLISH),
     * read from the worker's config at that moment rather than fixed when the workflow started.
     */
    async copyUpdateSettings(): Promise<{ concurrency: number; maxQueued: number } | null> {
      const { updateOnPublish, concurrency, maxQueued } = cfg.copies;
      return updateOnPublish ? { concurrency, maxQueued } : null;
    },

    /**
     * Paths changed between two published commits (used to pick the notebooks a merge touched).
     * A change too large to list (a reorganised repository, a bulk data drop) comes back as its
     * size only: the list would travel in the workflow's history, whose payloads Temporal caps
     * (2 MB), and a change that large touches the whole suite anyway.
     */
    async diffCommits(input: { from: string; to: string }): Promise<ChangedPaths> {
      checkCommit(input.from, 'from');
      checkCommit(input.to, 'to');
      await catchUp([input.from, input.to]);
      const paths = await changedPaths(local(), input.from, input.to);
      const bytes = paths.reduce((n, p) => n + Buffer.byteLength(p) + 3, 0);
      return paths.length > MAX_CHANGED_PATHS || bytes > MAX_CHANGED_BYTES ? { tooMany: paths.length } : paths;
    },
  };
}

export type SyncActivities = ReturnType<typeof createSyncActivities>;
