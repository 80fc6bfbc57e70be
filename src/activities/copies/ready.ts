/**
 * The ready copy: one copy of the published snapshot kept assembled in the private staging area
 * (`~ready~<format>~<sha>`), so that a `provision` or `latest` request renames it into place
 * instead of copying the whole suite (~140 MB) while the user waits. The next one is assembled in
 * the background once a request has taken it, when a request finds none for the published
 * commit, and right after every publish: moved forward from the previous commit's when one was
 * kept, else made whole (a new host, the first publish), so that not even the first request on a
 * host copies the suite itself; this process's requests wait for the one a publish is making.
 *
 * It is a cache, nothing more: a request that finds no ready copy (two at once, a worker
 * restarted since the publish, NBLC_READY_COPY=false) copies the snapshot itself, as it always did. It is assembled
 * exactly like a request's copy (the same entries, modes, skipped symlinks), owned by the service;
 * the request that takes it writes its own manifest and hands it to the user's uid.
 *
 * Every step that several processes might race on is a rename: taking (`~ready~1~<sha>` → a
 * request's staging folder), publishing a finished one (`~making~…/copy` → `~ready~1~<sha>`), and
 * discarding an outdated one (`~ready~<old>` → `~trash~…` before deleting it), so nobody ever
 * takes a half-written or half-deleted tree.
 */
import type { Logger } from '@temporalio/common';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { advanceTree, copyTree } from './tree.js';
import { lstatOrNull } from './fs.js';
import { removeTree } from '../files.js';
import type { SnapshotManifest } from './manifest.js';

const READY = '~ready~';
/**
 * In the name, so that a ready copy assembled by an older nblc with other copy rules (modes,
 * which links are skipped) is discarded instead of handed out with this version's report.
 */
const FORMAT = '1';
const MAKING = '~making~';
const TRASH = '~trash~';
/** A `~making~` folder of another host this old was left by a crashed process (a copy takes seconds). */
const STALE_MS = 60 * 60 * 1000;
/** Fewer files in flight than a request's copy: this one runs beside users' requests. */
const BACKGROUND_CONCURRENCY = 4;
/** A ready copy nobody waits beside (before the first publish's swap): as many as a request's copy. */
export const AHEAD_CONCURRENCY = 16;
/** Start after the request's answer is out: its last round trips should not share the CPU with a 140 MB copy. */
const START_DELAY_MS = 250;

export interface ReadySource {
  commit: string;
  snapshotRoot: string;
  snapshot: SnapshotManifest;
}

const errCode = (err: unknown) => (err as NodeJS.ErrnoException).code;

/** Who is working on a `~making~` / `~trash~` folder: `<host>~<pid>` (user names never hold `~`). */
const OWNER = `${os.hostname().replace(/~/g, '-')}~${process.pid}`;

/**
 * A `~making~` / `~trash~` folder nobody works on: one of this host whose process is gone (a
 * worker killed mid-copy, restarted), or one of any host untouched for an hour (NBLC_USERS_DIR
 * may be shared by several hosts, whose processes we cannot ask).
 */
async function leftBehind(name: string, p: string): Promise<boolean> {
  const [host, pid] = name.replace(/^~(making|trash)~/, '').split('~');
  if (host === os.hostname().replace(/~/g, '-') && Number(pid) !== process.pid && !processAlive(Number(pid)))
    return true;
  const st = await lstatOrNull(p);
  return !!st && Date.now() - st.mtimeMs > STALE_MS;
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errCode(err) === 'EPERM';
  }
}

/**
 * The private staging area (fs.ts, stagingFor), made if missing (mode 0700) so that a ready copy
 * can be made before the first request on this host; false when there is no users' folder yet.
 */
async function stagingArea(area: string): Promise<boolean> {
  try {
    await fs.mkdir(area, { mode: 0o700 });
  } catch (err) {
    if (errCode(err) === 'ENOENT') return false;
    if (errCode(err) !== 'EEXIST') throw err;
  }
  const st = await fs.lstat(area);
  return st.isDirectory() && !st.isSymbolicLink();
}

export class ReadyCopies {
  private making: Promise<void> | null = null;
  private advancing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The ready copy a publish started making: requests wait for it rather than copy cold. */
  private afterPublish: Promise<void> | null = null;
  private release: (() => void) | null = null;
  private discarded = false;
  private readonly abort = new AbortController();

  constructor(readonly enabled: boolean) {}

  static pathOf(area: string, commit: string): string {
    return path.join(area, `${READY}${FORMAT}~${commit}`);
  }

  /** Moves the ready copy of `commit` to `dest` (in the same staging area); false if there is none. */
  async take(area: string, commit: string, dest: string): Promise<boolean> {
    if (!this.enabled) return false;
    try {
      await fs.rename(ReadyCopies.pathOf(area, commit), dest);
      return true;
    } catch (err) {
      if (errCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  /**
   * Assembles a ready copy of `src.commit` in the background, unless one exists or this process
   * is already making one. Never throws: a failure is logged and the next request copies itself.
   */
  prepare(area: string, src: ReadySource, log: Logger): void {
    if (this.enabled) void this.schedule(src.commit, log, () => this.make(area, src));
    else if (!this.discarded) {
      // Turned off: a ready copy kept by an earlier run only takes space now.
      this.discarded = true;
      void this.schedule(src.commit, log, () => this.discardOutdated(area, null));
    }
  }

  /**
   * After a publish: moves the ready copy of the previous commit (`from`), if one is kept, forward
   * to `to` by applying the change between their manifests (tree.ts), which costs what the commit
   * changed instead of a copy of the suite. False when there was none to move (or it could not be
   * moved: then it is gone, and replace() makes one the long way).
   */
  async advance(area: string, from: SnapshotManifest, to: ReadySource): Promise<boolean> {
    if (!this.enabled || this.abort.signal.aborted || !(await lstatOrNull(ReadyCopies.pathOf(area, from.commit))))
      return false;
    const tmp = await fs.mkdtemp(path.join(area, `${MAKING}${OWNER}~`));
    try {
      const tree = path.join(tmp, 'copy');
      // Taken like a request takes it: whoever renames it first has all of it.
      if (!(await this.take(area, from.commit, tree))) return false;
      await advanceTree({ tree, from, to: to.snapshot, snapshotRoot: to.snapshotRoot, signal: this.abort.signal });
      await fs.rename(tree, ReadyCopies.pathOf(area, to.commit)).catch((err) => {
        if (errCode(err) !== 'ENOTEMPTY' && errCode(err) !== 'EEXIST') throw err;
      });
      return true;
    } finally {
      await removeTree(tmp);
    }
  }

  /** Runs `job` (the work after a publish) so that requests of this process can wait for it. */
  track(job: Promise<void>): Promise<void> {
    const tracked = job.finally(() => {
      if (this.advancing === tracked) this.advancing = null;
    });
    this.advancing = tracked;
    return tracked;
  }

  /**
   * Waits for the work after a publish in this process (the new snapshot's manifest, the ready
   * copy moved to it): a request arriving meanwhile would otherwise hash or copy the suite itself.
   */
  async settled(): Promise<void> {
    await this.advancing?.catch(() => undefined);
    await this.afterPublish;
  }

  /**
   * After a publish, when the ready copy could not be moved forward (none was kept: a new host,
   * or the first publish): makes one of `commit` in the background, loading its snapshot
   * manifest (hashing it the first time) too, so that no request copies the suite itself, not
   * even the first on this host. The publish does not wait for it; this process's requests do
   * (settled()), and then take it.
   */
  async replace(
    area: string,
    commit: string,
    load: (signal: AbortSignal) => Promise<ReadySource>,
    log: Logger,
    concurrency = BACKGROUND_CONCURRENCY,
  ): Promise<{ made: Promise<void> }> {
    // (Wrapped: an async function's promise would wait for the one it returns.)
    if (!this.enabled || !(await stagingArea(area))) return { made: Promise.resolve() };
    const made = this.schedule(commit, log, async () => this.make(area, await load(this.abort.signal), concurrency), 0);
    const tracked: Promise<void> = made.finally(() => {
      if (this.afterPublish === tracked) this.afterPublish = null;
    });
    this.afterPublish = tracked;
    return { made: tracked };
  }

  /** Runs `job` after `delayMs` unless one is running or due; resolves when that one ends. */
  private schedule(commit: string, log: Logger, job: () => Promise<void>, delayMs = START_DELAY_MS): Promise<void> {
    if (this.making) return this.making;
    if (this.timer || this.abort.signal.aborted) return this.afterPublish ?? Promise.resolve();
    return new Promise<void>((resolve) => {
      this.release = resolve;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.release = null;
        this.making = job()
          .catch((err: Error) => {
            if (!this.abort.signal.aborted)
              log.warn(`could not assemble the ready copy of ${commit.slice(0, 7)}: ${err.message}`, { commit });
          })
          .finally(() => (this.making = null));
        void this.making.then(resolve);
      }, delayMs);
      this.timer.unref();
    });
  }

  /** Stops a copy being made (its folder is removed) and waits for it. */
  async close(): Promise<void> {
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.release?.();
    await this.making;
  }

  private async make(
    area: string,
    { commit, snapshotRoot, snapshot }: ReadySource,
    concurrency = BACKGROUND_CONCURRENCY,
  ): Promise<void> {
    const final = ReadyCopies.pathOf(area, commit);
    await this.discardOutdated(area, path.basename(final));
    if (await lstatOrNull(final)) return;
    const tmp = await fs.mkdtemp(path.join(area, `${MAKING}${OWNER}~`));
    try {
      const tree = path.join(tmp, 'copy');
      await copyTree({
        snapshotRoot,
        snapshot,
        tree,
        owner: null,
        signal: this.abort.signal,
        concurrency,
      });
      await fs.rename(tree, final).catch((err) => {
        // Another worker process finished one first: keep theirs.
        if (errCode(err) !== 'ENOTEMPTY' && errCode(err) !== 'EEXIST') throw err;
      });
    } finally {
      await removeTree(tmp);
    }
  }

  /** Ready copies of other commits, and what crashed processes left behind. */
  private async discardOutdated(area: string, keep: string | null): Promise<void> {
    for (const name of await fs.readdir(area)) {
      const p = path.join(area, name);
      if (name.startsWith(READY) && name !== keep) {
        const trash = path.join(area, `${TRASH}${OWNER}~${name.slice(READY.length)}`);
        // Renamed first: a request taking it at this very moment gets all of it, or none.
        const moved = await fs.rename(p, trash).then(
          () => true,
          (err) => (errCode(err) === 'ENOENT' ? false : Promise.reject(err)),
        );
        if (moved) await removeTree(trash);
      } else if (name.startsWith(MAKING) || name.startsWith(TRASH)) {
        if (await leftBehind(name, p)) await removeTree(p);
      }
    }
  }
}
