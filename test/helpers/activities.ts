/**
 * Shared pieces of the activity tests: the SDK's activity harness (MockActivityEnvironment runs
 * our real activity code with a real activity Context: heartbeats, cancellation signal), and
 * readers of real git repositories and snapshot trees.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure, type Logger } from '@temporalio/common';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const noop = () => undefined;
/** The SDK logs every failed activity at WARN; the tests assert on the failures instead. */
export const quietLogger: Logger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };

/** A fresh activity environment (a cancelled one stays cancelled, so one per call). */
export function activityEnv(): MockActivityEnvironment {
  return new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 }, { logger: quietLogger });
}

/** Runs one activity in its own environment. */
export function runActivity<P extends unknown[], R>(fn: (...args: P) => Promise<R>, ...args: P): Promise<R> {
  return activityEnv().run(fn, ...args);
}

/**
 * Asserts that `promise` rejects with an ApplicationFailure of `type`, retryable or not as
 * given; returns it for further checks.
 */
export async function expectFailure(
  promise: Promise<unknown>,
  expected: { type: string; nonRetryable: boolean; message?: RegExp },
): Promise<ApplicationFailure> {
  let failure: unknown;
  await assert.rejects(promise, (err: unknown) => {
    failure = err;
    return true;
  });
  assert.ok(failure instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(failure)}`);
  assert.equal(failure.type, expected.type, `failure type (message: ${failure.message})`);
  assert.equal(!!failure.nonRetryable, expected.nonRetryable, `nonRetryable (message: ${failure.message})`);
  if (expected.message) assert.match(failure.message, expected.message);
  return failure;
}

/** Runs git in `cwd` and returns stdout as a Buffer (no hooks, the user's config is irrelevant here). */
export async function gitOut(cwd: string, args: string[]): Promise<Buffer> {
  const { stdout } = await run('git', args, { cwd, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Every path a commit stores (files and symlinks), as git spells them (-z: no quoting). */
export async function committedPaths(repo: string, sha: string): Promise<string[]> {
  const out = await gitOut(repo, ['ls-tree', '-r', '-z', '--name-only', sha]);
  return out.toString('utf8').split('\0').filter(Boolean).sort();
}

/** A committed file's bytes. */
export async function committedFile(repo: string, sha: string, rel: string): Promise<Buffer> {
  return gitOut(repo, ['cat-file', 'blob', `${sha}:${rel}`]);
}

export interface TreeEntry {
  rel: string;
  kind: 'file' | 'dir' | 'symlink';
  mode: number;
}

/** Every entry below `root` (directories included), relative paths with `/`, sorted. */
export async function walk(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const visit = async (dir: string, prefix: string): Promise<void> => {
    for (const e of await fs.readdir(dir, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      const st = await fs.lstat(path.join(dir, e.name));
      const kind = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : 'file';
      out.push({ rel, kind, mode: st.mode & 0o7777 });
      if (kind === 'dir') await visit(path.join(dir, e.name), rel);
    }
  };
  await visit(root, '');
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** Names of the published (full-SHA) snapshot directories. */
export async function snapshotNames(cacheDir: string): Promise<string[]> {
  const names = await fs.readdir(path.join(cacheDir, 'snapshots')).catch(() => [] as string[]);
  return names.filter((n) => /^[0-9a-f]{40}$/.test(n)).sort();
}
