/**
 * Published snapshots for the copy tests, in the layout the sync publishes (snapshots/<sha>/
 * read-only, `current` swapped by src/activities/sync/snapshot.ts), readers of copied trees, and the
 * copy activities run in the SDK's activity harness (a real activity Context).
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createCopyActivities, type CopyInput } from '../../src/activities/copies/index.js';
import { ReadyCopies } from '../../src/activities/copies/ready.js';
import { snapshotPath, swapCurrent } from '../../src/activities/sync/snapshot.js';
import type { CopyMode, CopyRequest, CopyResult } from '../../src/domain/copies/model.js';
import { tempDir, testConfig } from './fixtures.js';

export type SnapshotFile = string | Buffer | { content: string | Buffer; mode: number } | { symlink: string };

/**
 * Publishes `files` as a new read-only snapshot and points `current` at it; returns its SHA
 * (random, starting with `prefix`).
 */
export async function publishTree(cacheDir: string, files: Record<string, SnapshotFile>, prefix = ''): Promise<string> {
  const sha = (prefix + createHash('sha1').update(randomBytes(16)).digest('hex')).slice(0, 40);
  const root = snapshotPath(cacheDir, sha);
  await fs.mkdir(root, { recursive: true });
  for (const [rel, spec] of Object.entries(files)) {
    const p = path.join(root, rel);
    await fs.mkdir(path.dirname(p), { recursive: true });
    if (typeof spec === 'object' && 'symlink' in spec) {
      await fs.symlink(spec.symlink, p);
    } else {
      const { content, mode } =
        typeof spec === 'string' || Buffer.isBuffer(spec) ? { content: spec, mode: 0o644 } : spec;
      await fs.writeFile(p, content);
      await fs.chmod(p, mode & ~0o222);
    }
  }
  await lock(root);
  await swapCurrent(cacheDir, sha);
  return sha;
}

async function lock(dir: string): Promise<void> {
  for (const e of await fs.readdir(dir, { withFileTypes: true }))
    if (e.isDirectory()) await lock(path.join(dir, e.name));
  await fs.chmod(dir, 0o555);
}

/** Every file and link below `root`: path → content (utf8), links as `-> target`. */
export async function readTree(root: string, opts: { manifest?: boolean } = {}): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const e of await fs.readdir(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (r === '.nblc-manifest.json' && !opts.manifest) continue;
      const abs = path.join(root, r);
      if (e.isDirectory()) await walk(r);
      else if (e.isSymbolicLink()) out[r] = `-> ${await fs.readlink(abs)}`;
      else out[r] = await fs.readFile(abs, 'utf8');
    }
  };
  await walk('');
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** A notebook-like file of about `kb` kilobytes. */
export function bigNotebook(i: number, kb: number): string {
  return JSON.stringify({
    cells: [{ source: `print(${i})`, outputs: [{ data: { 'image/png': 'A'.repeat(kb * 1024) } }] }],
  });
}

const noop = () => undefined;
const quiet = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };

/**
 * A config, the copy activities, and the user `ada`'s directory. Without a ready copy unless
 * `ready` is given: most tests are about the copy itself, and the ready copy has its own.
 */
export async function setup(ready = new ReadyCopies(false), hooks: Parameters<typeof createCopyActivities>[2] = {}) {
  const dir = await tempDir('nblc-copies-');
  // As root, an update runs as the owner of the user's directory, who must reach it and the cache.
  await fs.chmod(dir, 0o755);
  const config = testConfig(dir, '/nonexistent.git', { NBLC_USER_CACHE_PATH: '/srv/notebooks-cache/current' });
  await fs.mkdir(path.join(config.usersDir, 'ada'), { recursive: true });
  const acts = createCopyActivities(config, ready, hooks);
  return { dir, config, acts, ada: path.join(config.usersDir, 'ada'), ready };
}

let n = 0;
export function request(mode: CopyMode, extra: Partial<CopyRequest> = {}): CopyRequest {
  return { mode, requestId: `req-${++n}`, requestedAt: '2024-05-06T07:08:09.000Z', ...extra };
}

export function runCopy(
  fn: (input: CopyInput) => Promise<CopyResult>,
  user: string,
  req: CopyRequest,
): Promise<CopyResult> {
  return new MockActivityEnvironment({ heartbeatTimeoutMs: 30_000 }, { logger: quiet }).run(fn, { user, request: req });
}

/** Asserts a typed, non-retryable failure. */
export async function rejectsWith(promise: Promise<unknown>, type: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    assert.equal(err.type, type, err.message);
    assert.equal(err.nonRetryable, true);
    if (message) assert.match(err.message, message);
    return true;
  });
}

export const outcomes = (r: CopyResult) => Object.fromEntries(r.files.map((f) => [f.path, f.outcome]));
