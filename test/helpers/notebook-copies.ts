/**
 * Notebooks and an upstream repository for the tests of merged updates: notebook texts built
 * cell by cell (with or without ids, with outputs), and commits that land both in the sync's
 * private clone (a real bare git repository at cloneDir) and as published snapshots, the way
 * the sync publishes them, so an update finds the delivered version of a notebook by its blob.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { cloneDir } from '../../src/activities/sync/index.js';
import type { Config } from '../../src/platform/config.js';
import { publishTree } from './copies.js';

const run = promisify(execFile);

export interface CellSpec {
  source: string;
  id?: string;
  type?: 'code' | 'markdown';
  /** A run: an output with this text and an execution count, and the timings Jupyter records. */
  ran?: string;
  count?: number;
}

/** A v4 notebook's text (minor 5 with ids, minor 4 without), as Jupyter writes it. */
export function nb(cells: CellSpec[], opts: { ids?: boolean; metadata?: object } = {}): string {
  const ids = opts.ids ?? true;
  return `${JSON.stringify(
    {
      cells: cells.map((c, i) => {
        const base = { cell_type: c.type ?? 'code', ...(ids ? { id: c.id ?? `cell-${i}` } : {}), source: c.source };
        if ((c.type ?? 'code') !== 'code') return { ...base, metadata: {} };
        return {
          ...base,
          execution_count: c.ran ? (c.count ?? 1) : null,
          metadata: c.ran ? { execution: { 'iopub.status.idle': '2026-12-07T05:00:00Z' } } : {},
          outputs: c.ran ? [{ name: 'stdout', output_type: 'stream', text: c.ran }] : [],
        };
      }),
      metadata: opts.metadata ?? { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
      nbformat: 4,
      nbformat_minor: ids ? 5 : 4,
    },
    null,
    1,
  )}\n`;
}

export interface Notebook {
  cells: Array<{
    id?: string;
    cell_type: string;
    source: string | string[];
    outputs?: unknown[];
    execution_count?: unknown;
  }>;
  metadata: Record<string, unknown>;
}

export const parse = (text: string) => JSON.parse(text) as Notebook;
export const sources = (text: string) => parse(text).cells.map((c) => [c.source].flat().join(''));

/** The upstream repository: each `publish` is a commit in the private clone and a published snapshot. */
export async function upstreamRepo(config: Config, dir: string) {
  const work = path.join(dir, 'upstream-work');
  const clone = cloneDir(config);
  const git = (cwd: string, ...args: string[]) =>
    run('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.org', ...args], {
      cwd,
      env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null' },
    });
  await fs.mkdir(work, { recursive: true });
  await fs.mkdir(clone, { recursive: true });
  await git(work, 'init', '-q', '-b', 'main');
  await git(clone, 'init', '-q', '--bare');
  let files: Record<string, string> = {};
  return {
    /** Commits `changes` (null removes a file) on top of the previous commit, and publishes it. */
    async publish(changes: Record<string, string | null>): Promise<string> {
      for (const [rel, content] of Object.entries(changes)) {
        const p = path.join(work, rel);
        if (content === null) {
          await fs.rm(p);
          delete files[rel];
        } else {
          await fs.mkdir(path.dirname(p), { recursive: true });
          await fs.writeFile(p, content);
          files = { ...files, [rel]: content };
        }
      }
      await git(work, 'add', '-A');
      await git(work, 'commit', '-q', '--allow-empty', '-m', 'upstream change');
      await git(work, 'push', '-q', clone, 'HEAD:refs/remotes/origin/main');
      const sha = (await git(work, 'rev-parse', 'HEAD')).stdout.trim();
      await publishTree(config.cacheDir, files, '', sha);
      return sha;
    },
  };
}
