/**
 * A pull request's objects live in a repository of their own, `<NBLC_DATA_DIR>/pr-repos/<runId>.git`,
 * never in the private clone that publishes snapshots: a fork's commits and blobs (anyone's
 * code) must not become objects of the clone that users' snapshots are made from, nor stay
 * there after the run. The run's repository borrows the clone's objects read-only (git's
 * alternates), so a fetch brings only what the pull request adds, and it is removed when the run
 * ends, however it ends.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { removeTree } from '../files.js';
import { git } from '../sync/git.js';
import { checkRunId } from '../untrusted.js';

/** Where the pull-request repositories of the worker live (inside the data folder, never in a kernel's view). */
export const prReposDir = (dataDir: string) => path.join(dataDir, 'pr-repos');

/** The run's repository (the run ID checked: a `..` must not name another folder). */
export const prRepoOf = (dataDir: string, runId: string) => path.join(prReposDir(dataDir), `${checkRunId(runId)}.git`);

/**
 * A fresh bare repository for the run, borrowing `mainGitDir`'s objects: what an earlier attempt
 * of the activity left is removed first, so a retry starts from nothing.
 */
export async function freshPrRepo(dataDir: string, runId: string, mainGitDir: string): Promise<string> {
  const dir = prRepoOf(dataDir, runId);
  await fs.mkdir(prReposDir(dataDir), { recursive: true, mode: 0o700 });
  await removeTree(dir);
  await fs.mkdir(dir);
  await git({ baseDir: dir }).raw(['init', '--bare']);
  const objects = await fs.realpath(path.join(mainGitDir, 'objects'));
  await fs.writeFile(path.join(dir, 'objects', 'info', 'alternates'), `${objects}\n`);
  return dir;
}

/** Removes the run's repository with every object it fetched; nothing when it is gone already. */
export async function removePrRepo(dataDir: string, runId: string): Promise<void> {
  await removeTree(prRepoOf(dataDir, runId));
}
