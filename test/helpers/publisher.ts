/** A sandbox that publishes snapshots as the sync workflow does, and the checks of what it published. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { readCurrent } from '../../src/activities/sync/snapshot.js';
import { createSyncActivities } from '../../src/activities/sync/index.js';
import type { PublishResult } from '../../src/domain/sync/model.js';
import type { FileContent } from '../../src/demo/sample-repo.js';
import { sandbox } from './fixtures.js';
import { committedFile, committedPaths, runActivity, walk } from './activities.js';

export const snapshotDir = (cacheDir: string, sha: string) => path.join(cacheDir, 'snapshots', sha);
export const currentLink = (cacheDir: string) => path.join(cacheDir, 'current');

/** A sandbox with its activities, and `publish` = fetch + publish as the workflow does it. */
export async function publisher(env: Record<string, string> = {}) {
  const sb = await sandbox(env);
  const acts = createSyncActivities(sb.config);
  const cache = sb.config.cacheDir;
  const publish = async (sha: string): Promise<PublishResult> => {
    await runActivity(acts.fetchBranch);
    return runActivity(acts.publishSnapshot, { sha });
  };
  return { ...sb, acts, cache, publish };
}

/**
 * Asserts that `current` is a relative symlink to `snapshots/<sha>` and that the snapshot holds
 * exactly the commit's files with the commit's bytes, and no .git.
 */
export async function assertPublished(upstreamGitDir: string, cache: string, sha: string): Promise<void> {
  const link = await fs.readlink(currentLink(cache));
  assert.ok(!path.isAbsolute(link), `current is relative (got ${link})`);
  assert.equal(path.basename(link), sha);
  assert.equal(await fs.realpath(currentLink(cache)), await fs.realpath(snapshotDir(cache, sha)));
  assert.equal(await readCurrent(cache), sha);

  const expected = await committedPaths(upstreamGitDir, sha);
  const entries = await walk(snapshotDir(cache, sha));
  const leaves = entries.filter((e) => e.kind !== 'dir').map((e) => e.rel);
  assert.deepEqual(leaves, expected, 'the snapshot holds exactly the files of the commit');
  assert.ok(!entries.some((e) => e.rel === '.git' || e.rel.endsWith('/.git')), 'no .git in a snapshot');
  for (const e of entries.filter((x) => x.kind === 'file')) {
    const bytes = await fs.readFile(path.join(snapshotDir(cache, sha), e.rel));
    assert.ok(bytes.equals(await committedFile(upstreamGitDir, sha, e.rel)), `content of ${e.rel}`);
  }
}

/** 300 files whose contents name the commit, plus a marker and a file only this commit has. */
export function bulkFiles(label: string, count = 300): Record<string, FileContent> {
  const files: Record<string, FileContent> = { COMMIT: `${label}\n` };
  for (let i = 0; i < count; i++)
    files[`nb/part-${i % 10}/file-${String(i).padStart(3, '0')}.ipynb`] = `${label}:${i}\n`;
  files[`only-${label}.txt`] = `${label}\n`;
  return files;
}
