/**
 * What a pull request's unreviewed code may cost before its notebooks run: its tree's file count
 * and size, measured from git's objects before anything is exported (NBLC_PR_MAX_FILES,
 * NBLC_PR_MAX_BYTES), so that a PR of a million files or gigabytes of blobs is refused with a
 * commit status saying why instead of filling the cache. Streamed and cut off at the first
 * limit passed: the listing of a huge tree is never held in memory. And where PR snapshots live,
 * so the executor knows unreviewed code by its place on this worker, whatever its input says.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { prSnapshotsDir } from './run-record.js';
import { StringDecoder } from 'node:string_decoder';

/** Whether `root` lies in the PR snapshots (realpath-free: the folder's name is the worker's own). */
export function isPullRequestRoot(cacheDir: string, root: string): boolean {
  const rel = path.relative(prSnapshotsDir(cacheDir), path.resolve(root));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export interface TreeLimits {
  maxFiles: number;
  maxBytes: number;
}

/** Why `commit`'s tree is over a limit (words for a commit status, ≤ 140 characters), or null. */
export async function treeOverLimits(gitDir: string, commit: string, limits: TreeLimits): Promise<string | null> {
  const child = spawn('git', ['--git-dir', gitDir, 'ls-tree', '-r', '-l', '-z', '--full-tree', commit], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const decoder = new StringDecoder('utf8');
  let files = 0;
  let bytes = 0;
  let rest = '';
  let over: string | null = null;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    const entries = (rest + decoder.write(chunk)).split('\0');
    rest = entries.pop()!;
    for (const entry of entries) {
      // "<mode> <type> <object> <size>\t<path>"; a submodule's size is "-".
      const size = Number(entry.slice(0, entry.indexOf('\t')).trim().split(/\s+/)[3]);
      files += 1;
      if (Number.isFinite(size)) bytes += size;
    }
    if (files > limits.maxFiles)
      over = `not run: the pull request has over ${limits.maxFiles} files (NBLC_PR_MAX_FILES)`;
    else if (bytes > limits.maxBytes)
      over = `not run: the pull request's files exceed ${limits.maxBytes} bytes (NBLC_PR_MAX_BYTES)`;
    if (over) break;
  }
  if (over) child.kill('SIGKILL');
  const code = await new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('close', (c) => resolve(c));
  });
  if (!over && code !== 0) throw new Error(`git ls-tree ${commit} failed: ${stderr.trim()}`);
  return over;
}
