/**
 * Which notebooks of a snapshot a run executes: include/exclude globs (picomatch, `**`
 * supported) relative to the snapshot root, sensible default exclusions, and the repository's
 * own `.nblcignore` (gitignore syntax, read by `ignore`) so notebook authors can exclude the
 * ones that need an interactive login.
 */
import { ApplicationFailure } from '@temporalio/common';
import ignore from 'ignore';
import fs from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { glob } from 'tinyglobby';
import { globsProblem } from '../../domain/runs/globs.js';

export const IGNORE_FILE = '.nblcignore';

/** Never executed: editor checkpoints, executed copies (ours and nbconvert's), templates. */
export const DEFAULT_EXCLUDES = [
  '**/.ipynb_checkpoints/**',
  '**/*_tested.ipynb',
  '**/*.nbconvert.ipynb',
  '**/*[Tt]emplate*.ipynb',
];

export interface DiscoverOptions {
  root: string;
  include?: string[];
  exclude?: string[];
  /** Restrict to these paths (e.g. the notebooks a merge changed); missing ones are skipped. */
  paths?: string[];
}

export async function discoverNotebooks(opts: DiscoverOptions): Promise<string[]> {
  // Before compiling them: a glob that backtracks without end would stall this worker's thread.
  const problem = globsProblem(opts.include, 'include') ?? globsProblem(opts.exclude, 'exclude');
  if (problem) throw ApplicationFailure.nonRetryable(problem, 'InvalidGlob');
  const ignoreText = await fs.readFile(path.join(opts.root, IGNORE_FILE), 'utf8').catch(() => '');
  const ignored = ignore().add(ignoreText);
  const included = picomatch(opts.include?.length ? opts.include : ['**'], { dot: false });
  const excluded = picomatch([...DEFAULT_EXCLUDES, ...(opts.exclude ?? [])], { dot: true });

  const candidates = opts.paths
    ? await existing(
        opts.root,
        opts.paths.filter((p) => p.endsWith('.ipynb')),
      )
    : await glob('**/*.ipynb', { cwd: opts.root, dot: true, onlyFiles: true, followSymbolicLinks: false });

  const chosen = candidates
    .map((p) => p.split(path.sep).join('/'))
    .filter((p) => included(p) && !excluded(p) && !ignored.ignores(p));
  // Code-point order: stable across machines and locales.
  return [...new Set(chosen)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function existing(root: string, paths: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const p of paths) {
    const full = path.resolve(root, p);
    if (!full.startsWith(root + path.sep)) continue; // never outside the snapshot
    const st = await fs.lstat(full).catch(() => null);
    if (st?.isFile()) found.push(p);
  }
  return found;
}
