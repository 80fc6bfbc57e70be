/**
 * Activities of the users' copies: provision, latest, update, and the listing of users for bulk
 * runs. Each is idempotent: a request carries an ID that is written into the copy's manifest, so
 * a retry after a crash finds its own work instead of doing it twice, and every step before that
 * leaves nothing under a final name that a rerun could not converge from.
 */
import { Context } from '@temporalio/activity';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  COPY_FAILURES,
  MAIN_COPY,
  copyDirProblem,
  userNameProblem,
  type CopyRequest,
  type CopyResult,
} from '../../domain/copies/model.js';
import { existingCopy, fail, lstatOrNull, stagingFor, userDir, type UserDir } from './fs.js';
import { pruneManifestCache, readCopyManifest, snapshotManifest, type CopyManifest } from './manifest.js';
import { ReadyCopies } from './ready.js';
import { result, updateResult } from './result.js';
import { copyTree, ensureLatestLink, finishCopy, installCopy } from './tree.js';
import { runUpdate } from './as-owner.js';
import type { UpdateHooks } from './update-job.js';
import { removeTree } from '../files.js';
import { untrusted } from '../untrusted.js';
import { withHeartbeat } from '../heartbeat.js';
import { readCurrent, snapshotPath, snapshotsDir } from '../sync/snapshot.js';

import type { CopyConfig } from './config.js';

export type { CopyConfig } from './config.js';

export interface CopyInput {
  user: string;
  request: CopyRequest;
}

/** `notebooks_YYYYMMDD_HHMMSS` in the worker's time zone, like the original `getlatest`. */
export function latestName(requestedAt: string): string {
  const d = new Date(requestedAt);
  const p = (n: number) => String(n).padStart(2, '0');
  return `notebooks_${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

const MAX_NAME_SUFFIX = 100;

interface Progress {
  now: Record<string, unknown>;
}

/**
 * `ready`: the ready copy of the snapshot (ready.ts), shared by the process's copy activities.
 * `hooks`: tests only (UpdateHooks.checkpoint).
 */
export function createCopyActivities(
  cfg: CopyConfig,
  ready = new ReadyCopies(false),
  hooks: Pick<UpdateHooks, 'checkpoint'> = {},
) {
  /** Runs an activity body heartbeating its progress (per call: activities run concurrently). */
  const heartbeating = async <T>(fn: (signal: AbortSignal, progress: Progress) => Promise<T>) => {
    const progress: Progress = { now: {} };
    try {
      return await withHeartbeat(
        (signal) => fn(signal, progress),
        () => progress.now,
      );
    } catch (err) {
      // Retrying cannot fix permissions: say which path, once.
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EACCES' || e.code === 'EPERM') {
        throw fail(
          COPY_FAILURES.permission,
          `${e.syscall ?? 'access'} ${e.path ?? ''}: permission denied for nblc's user`,
        );
      }
      throw err;
    }
  };

  /** The published snapshot and its manifest (computed once per commit). */
  async function published(signal: AbortSignal, progress: Progress) {
    await ready.settled(); // a publish that just happened prepares what the request needs
    const commit = await readCurrent(cfg.cacheDir);
    if (!commit) {
      throw fail(COPY_FAILURES.nothingPublished, `nothing is published in ${cfg.cacheDir} yet: run "nblc sync" first`);
    }
    const snapshotRoot = snapshotPath(cfg.cacheDir, commit);
    progress.now = { step: 'hash snapshot', commit };
    const snapshot = await snapshotManifest({
      dataDir: cfg.dataDir,
      snapshotRoot,
      commit,
      signal,
      onProgress: (done) => (progress.now = { step: 'hash snapshot', commit, done }),
    });
    await pruneManifestCache(cfg.dataDir, snapshotsDir(cfg.cacheDir));
    return { commit, snapshotRoot, snapshot };
  }

  /**
   * Makes a new copy in staging (the ready copy when there is one, else copied from the snapshot)
   * and renames it to the first free name; null if none was free.
   */
  async function newCopy(u: UserDir, request: CopyRequest, names: string[], signal: AbortSignal, progress: Progress) {
    const src = await published(signal, progress);
    const { commit, snapshotRoot, snapshot } = src;
    const staging = await stagingFor(u, request.mode);
    try {
      const tree = path.join(staging, 'copy');
      const readyCopy = await ready.take(path.dirname(staging), commit, tree);
      if (!readyCopy) {
        const total = snapshot.entries.length;
        await copyTree({
          snapshotRoot,
          snapshot,
          tree,
          owner: u.owner,
          signal,
          onProgress: (done) => (progress.now = { step: 'copy', done, total }),
        });
      }
      progress.now = { step: 'finish', readyCopy };
      const report = await finishCopy({
        tree,
        snapshot,
        owner: u.owner,
        readyCopy,
        manifest: {
          format: 'nblc-copy/1',
          commit,
          mode: request.mode,
          requestId: request.requestId,
          at: new Date().toISOString(),
        },
      });
      // Taken, or none there: the next request should find one.
      ready.prepare(path.dirname(staging), src, Context.current().log);
      for (const name of names) {
        if (await installCopy(tree, path.join(u.dir, name))) return { name, commit, report };
      }
      return null;
    } finally {
      await removeTree(staging);
    }
  }

  /** A copy this very request already made (its manifest carries the request ID): the retry's answer. */
  const doneBefore = (m: CopyManifest | null, request: CopyRequest) =>
    m && m.requestId === request.requestId && m.mode === request.mode ? m : null;

  return {
    /** Creates `notebooks/` if absent (never touches an existing one) and the `notebooks-latest` link. */
    async provisionCopy({ user, request }: CopyInput): Promise<CopyResult> {
      return heartbeating(async (signal, progress) => {
        const u = await userDir(cfg.usersDir, user, true);
        const link = await ensureLatestLink(u, cfg.userCachePath);
        const st = await lstatOrNull(path.join(u.dir, MAIN_COPY));
        if (st) {
          const m =
            st.isDirectory() && !st.isSymbolicLink()
              ? await readCopyManifest(path.join(u.dir, MAIN_COPY), u.owner)
              : null;
          const mine = doneBefore(m, request);
          return result(u, request, MAIN_COPY, {
            created: !!mine,
            commit: m?.commit ?? null,
            files: mine?.report ?? [],
            link,
            message: mine
              ? `provisioned ${MAIN_COPY}/ from ${mine.commit.slice(0, 7)}`
              : `${MAIN_COPY}/ exists: left untouched`,
          });
        }
        const made = await newCopy(u, request, [MAIN_COPY], signal, progress);
        if (!made)
          return result(u, request, MAIN_COPY, { link, message: `${MAIN_COPY}/ appeared meanwhile: left untouched` });
        return result(u, request, MAIN_COPY, {
          created: true,
          commit: made.commit,
          files: made.report,
          link,
          message: `provisioned ${MAIN_COPY}/ from ${made.commit.slice(0, 7)}`,
        });
      });
    },

    /** A new copy `notebooks_YYYYMMDD_HHMMSS` (a suffix on collision) or the given name, never overwriting. */
    async latestCopy({ user, request }: CopyInput): Promise<CopyResult> {
      return heartbeating(async (signal, progress) => {
        const u = await userDir(cfg.usersDir, user, true);
        const problem = request.dir ? copyDirProblem(request.dir) : null;
        if (problem) throw fail(COPY_FAILURES.invalid, problem);
        const base = request.dir ?? latestName(request.requestedAt);
        const candidates = request.dir
          ? [request.dir]
          : Array.from({ length: MAX_NAME_SUFFIX }, (_, i) => (i === 0 ? base : `${base}_${i + 1}`));
        const free: string[] = [];
        for (const name of candidates) {
          const st = await lstatOrNull(path.join(u.dir, name));
          if (!st) {
            free.push(name);
            continue;
          }
          const mine =
            st.isDirectory() && !st.isSymbolicLink()
              ? doneBefore(await readCopyManifest(path.join(u.dir, name), u.owner), request)
              : null;
          if (mine) {
            return result(u, request, name, {
              created: true,
              commit: mine.commit,
              files: mine.report,
              message: `copied ${mine.commit.slice(0, 7)} to ${name}/`,
            });
          }
        }
        if (free.length === 0) {
          throw fail(
            COPY_FAILURES.exists,
            request.dir ? `${path.join(u.dir, request.dir)} exists: choose another name` : `no free name for ${base}`,
          );
        }
        const made = await newCopy(u, request, free, signal, progress);
        if (!made)
          throw fail(COPY_FAILURES.exists, `${path.join(u.dir, base)} appeared meanwhile: choose another name`);
        return result(u, request, made.name, {
          created: true,
          commit: made.commit,
          files: made.report,
          message: `copied ${made.commit.slice(0, 7)} to ${made.name}/`,
        });
      });
    },

    /** Three-way, non-destructive update of a copy to the published snapshot (see rules.ts). */
    async updateCopy({ user, request }: CopyInput): Promise<CopyResult> {
      return heartbeating(async (signal, progress) => {
        const u = await userDir(cfg.usersDir, user, false);
        const name = request.dir ?? MAIN_COPY;
        const problem = copyDirProblem(name);
        if (problem) throw fail(COPY_FAILURES.invalid, problem);
        // Answered here (an lstat) before anything is hashed; the job checks again, as the owner.
        if (!(await existingCopy(u.dir, name)))
          throw fail(
            COPY_FAILURES.notFound,
            `${path.join(u.dir, name)} does not exist: provision it or choose an existing copy`,
          );
        const { commit, snapshotRoot, snapshot } = await published(signal, progress);
        const out = await runUpdate(
          { userDir: u.dir, name, requestId: request.requestId, commit, snapshotRoot, snapshot },
          u.owner,
          { signal, onProgress: (p) => (progress.now = p), checkpoint: hooks.checkpoint },
        );
        return updateResult(u, request, name, out.commit, out.previousCommit, out.files);
      });
    },

    /** One page of the users (directories under NBLC_USERS_DIR with valid names), in name order. */
    async listUserDirs(input: {
      after: string | null;
      limit: number;
    }): Promise<{ users: string[]; next: string | null }> {
      if (!Number.isSafeInteger(input.limit) || input.limit < 1 || input.limit > 10_000) {
        throw untrusted('limit', `${JSON.stringify(input.limit)} is not a page size (1 to 10000)`);
      }
      if (input.after !== null && typeof input.after !== 'string') throw untrusted('after', 'not a user name');
      const entries = await fs.readdir(cfg.usersDir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [];
        throw err;
      });
      // Symlinked ones are listed too: their refusal then shows in the bulk summary.
      const users = entries
        .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && !userNameProblem(e.name))
        .map((e) => e.name)
        .filter((n) => input.after === null || n > input.after)
        .sort();
      const page = users.slice(0, input.limit);
      return { users: page, next: users.length > input.limit ? page.at(-1)! : null };
    },
  };
}

export type CopyActivities = ReturnType<typeof createCopyActivities>;

export { readyCopyAfterPublish } from './after-publish.js';
