/**
 * Activities read their inputs as if a stranger had written the workflow (issue 21): anyone who
 * reaches Temporal can start a workflow with inputs of their choosing. Every run ID, commit,
 * path and root an activity acts on passes through here; a refusal is a non-retryable failure of
 * type `UntrustedInput` whose message names the field, and nothing has been touched by then.
 */
import { ApplicationFailure } from '@temporalio/common';
import fs from 'node:fs/promises';
import path from 'node:path';
import { isRunDirName } from '../domain/runs/run-dir.js';
import { SHA_RE } from './sync/snapshot.js';

export const UNTRUSTED_INPUT = 'UntrustedInput';

/** A full commit SHA (SHA-1 or SHA-256 object name): what snapshots and pins are named by. */
export const FULL_SHA = SHA_RE;

/** The refusal: the field and why, never retried (the same input would be refused again). */
export function untrusted(field: string, why: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`refused input ${field}: ${why}`, UNTRUSTED_INPUT);
}

/** A run ID that names a run directory (the one rule of layout.ts), or the refusal. */
export function checkRunId(value: unknown, field = 'runId'): string {
  if (!isRunDirName(value)) throw untrusted(field, `${JSON.stringify(value)} is not a run directory name`);
  return value;
}

/** A full commit SHA, or the refusal. */
export function checkCommit(value: unknown, field = 'commit'): string {
  if (typeof value !== 'string' || !FULL_SHA.test(value)) {
    throw untrusted(field, `${JSON.stringify(value)} is not a full commit SHA`);
  }
  return value;
}

/**
 * A safe relative path (`a/b/c.ipynb`): not absolute, no empty, `.` or `..` component, no NUL
 * or backslash, or the refusal. Says nothing yet about what is on disk (realDirs does).
 */
export function checkRelativePath(value: unknown, field = 'path'): string {
  const parts = typeof value === 'string' ? value.split('/') : [];
  if (
    typeof value !== 'string' ||
    value.length > 4096 ||
    /[\0\\]/.test(value) ||
    parts.some((p) => p === '' || p === '.' || p === '..')
  ) {
    throw untrusted(field, `${JSON.stringify(value)} is not a safe relative path`);
  }
  return value;
}

/**
 * Whether every folder of `rel` under `base` is a real directory, not a link (lstat, one
 * component at a time), and the last one, when `lastIsFile`, a regular file. A notebook path
 * through a link planted in a repository would lead the executor anywhere.
 */
export async function realComponents(base: string, rel: string, field: string, lastIsFile: boolean): Promise<void> {
  const parts = checkRelativePath(rel, field).split('/');
  let at = base;
  for (const [i, part] of parts.entries()) {
    at = path.join(at, part);
    const st = await fs.lstat(at).catch(() => null);
    const last = i === parts.length - 1;
    const ok = last && lastIsFile ? st?.isFile() : st?.isDirectory();
    if (!ok) {
      const what = !st ? 'missing' : st.isSymbolicLink() ? 'a link' : 'of the wrong type';
      throw untrusted(field, `${JSON.stringify(rel)}: ${parts.slice(0, i + 1).join('/')} is ${what}`);
    }
  }
}

const inside = (dir: string, p: string) => p === dir || p.startsWith(dir + path.sep);

/**
 * Creates `rel`'s folders under `dir` one by one, none of them a link, and checks that the
 * parent's real path is still inside `dir`'s: a file written there through a path that follows
 * no link lands inside `dir`. Returns the file's path.
 */
export async function safeOutputPath(dir: string, rel: string, field: string): Promise<string> {
  const parts = checkRelativePath(rel, field).split('/');
  const realDir = await fs.realpath(dir);
  let at = realDir;
  for (const part of parts.slice(0, -1)) {
    at = path.join(at, part);
    await fs.mkdir(at).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    const st = await fs.lstat(at);
    if (!st.isDirectory()) throw untrusted(field, `${JSON.stringify(rel)}: ${path.relative(realDir, at)} is a link`);
  }
  if (!inside(realDir, await fs.realpath(at))) throw untrusted(field, `${JSON.stringify(rel)} leaves its directory`);
  const file = path.join(at, parts.at(-1)!);
  // A link (or anything but a file) where the output goes is removed, never written through.
  const st = await fs.lstat(file).catch(() => null);
  if (st && !st.isFile()) await fs.rm(file, { recursive: true, force: true });
  return file;
}

/** Whether `p`'s real path is `dir`'s real path or below it (false when either is missing). */
export async function realInside(dir: string, p: string): Promise<boolean> {
  const [d, q] = await Promise.all([fs.realpath(dir).catch(() => null), fs.realpath(p).catch(() => null)]);
  return !!d && !!q && inside(d, q);
}
