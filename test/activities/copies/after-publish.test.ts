/**
 * After a publish (src/activities/copies/index.ts readyCopyAfterPublish, with the real sync
 * activities and a real upstream repository): the new snapshot's manifest derives from the
 * previous one and equals a fresh scan, and the kept ready copy moves forward to the new commit
 * (the same folder, changed where the commit changed), so the first request after the publish
 * takes it and gets exactly what a fresh copy of the new snapshot holds.
 *
 *   node --import tsx --test test/activities/copies/after-publish.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { createCopyActivities, readyCopyAfterPublish } from '../../../src/activities/copies/index.js';
import { readyCopyAtStart } from '../../../src/activities/copies/after-publish.js';
import { cachedManifest, snapshotManifest } from '../../../src/activities/copies/manifest.js';
import { ReadyCopies } from '../../../src/activities/copies/ready.js';
import { createSyncActivities } from '../../../src/activities/sync/index.js';
import { readCurrent, snapshotPath } from '../../../src/activities/sync/snapshot.js';
import { runActivity, walk } from '../../helpers/activities.js';
import { readTree, request, runCopy } from '../../helpers/copies.js';
import { sandbox, tempDir, waitFor } from '../../helpers/fixtures.js';

const staging = (usersDir: string) => path.join(usersDir, '.nblc-staging');

describe('copies after a publish', () => {
  test('the manifest derives from the previous one and the ready copy moves forward to the new commit', async () => {
    const { config, upstream, first } = await sandbox();
    const ready = new ReadyCopies(true);
    const sync = createSyncActivities(config, readyCopyAfterPublish(config, ready));
    const copies = createCopyActivities(config, ready);
    const fresh = createCopyActivities(config, new ReadyCopies(false));
    await fs.mkdir(path.join(config.usersDir, 'ada'), { recursive: true });
    const publish = async (sha: string) => {
      await runActivity(sync.fetchBranch);
      await runActivity(sync.publishSnapshot, { sha });
    };
    try {
      await fs.writeFile(Buffer.from(path.join(upstream.workDir, 'caf\xe9.txt'), 'latin1'), 'odd name\n');
      await upstream.commit({
        'nb/a.ipynb': '{"a": 1}',
        'nb/deep/b.ipynb': '{"b": 1}',
        'nb/gone/c.ipynb': '{"c": 1}',
        'run.sh': { content: '#!/bin/sh\n', mode: 0o755 },
        'data/keep.fits': 'x'.repeat(100_000),
        todir: 'a file\n',
      });
      await fs.symlink('nb/a.ipynb', path.join(upstream.workDir, 'link'));
      await fs.symlink('../../etc', path.join(upstream.workDir, 'escape'));
      const c2 = await upstream.commit({});
      await publish(first);
      await publish(c2);
      // A first request hashes the snapshot and leaves a ready copy of c2.
      await runCopy(copies.latestCopy, 'ada', request('latest', { dir: 'one' }));
      const readyPath = (sha: string) => ReadyCopies.pathOf(staging(config.usersDir), sha);
      const ino = (await waitFor('the ready copy', () => fs.stat(readyPath(c2)).catch(() => null), 20_000)).ino;
      await waitFor('the background copy to finish', async () => {
        const names = await fs.readdir(staging(config.usersDir));
        return names.every((n) => !n.startsWith('~making~'));
      });

      await fs.rm(path.join(upstream.workDir, 'link'));
      await fs.symlink('nb/deep/b.ipynb', path.join(upstream.workDir, 'link'));
      await fs.rm(path.join(upstream.workDir, 'todir'));
      const c3 = await upstream.commit({
        'nb/a.ipynb': '{"a": 2}',
        'nb/gone/c.ipynb': null,
        'nb/new/d.ipynb': '{"d": 1}',
        'run.sh': { content: '#!/bin/sh\n', mode: 0o644 },
        'todir/inside.txt': 'now a folder\n',
      });
      await publish(c3);

      // Right after the publish: the manifest is there and equals a fresh scan of the snapshot.
      const derived = await cachedManifest(config.dataDir, c3);
      assert.ok(derived, 'the new snapshot has its manifest');
      const scanned = await snapshotManifest({
        dataDir: await tempDir('nblc-manifest-'),
        snapshotRoot: snapshotPath(config.cacheDir, c3),
        commit: c3,
      });
      assert.deepEqual(derived, scanned);
      assert.ok(derived.skipped.some((s) => s.path === 'escape'));

      // The ready copy is the same folder, moved forward; the old commit has none any more.
      assert.equal((await fs.stat(readyPath(c3))).ino, ino, 'moved, not made again');
      await assert.rejects(fs.stat(readyPath(c2)), { code: 'ENOENT' });

      const two = await runCopy(copies.latestCopy, 'ada', request('latest', { dir: 'two' }));
      assert.equal((await fs.stat(two.path)).ino, ino, 'the first request after the publish takes it');
      assert.equal(two.commit, c3);
      const three = await runCopy(fresh.latestCopy, 'ada', request('latest', { dir: 'three' }));
      assert.deepEqual(await readTree(two.path), await readTree(three.path), 'what a fresh copy holds');
      const shape = async (root: string) => (await walk(root)).filter((e) => e.rel !== '.nblc-manifest.json');
      assert.deepEqual(await shape(two.path), await shape(three.path), 'the same folders, kinds and modes');
      assert.deepEqual(two.files, three.files, 'and the same report');
      // A user's copy never shares a file with the snapshot.
      for (const rel of ['nb/a.ipynb', 'data/keep.fits']) {
        const [mine, snap] = await Promise.all([
          fs.stat(path.join(two.path, rel)),
          fs.stat(path.join(snapshotPath(config.cacheDir, c3), rel)),
        ]);
        assert.notEqual(mine.ino, snap.ino, rel);
      }
    } finally {
      await ready.close();
    }
  });

  test('a publish derives the manifest, and a ready copy of the new commit is there for the next request', async () => {
    const { config, upstream, first } = await sandbox();
    const ready = new ReadyCopies(true);
    const sync = createSyncActivities(config, readyCopyAfterPublish(config, ready));
    const copies = createCopyActivities(config, ready);
    await fs.mkdir(path.join(config.usersDir, 'ada'), { recursive: true });
    try {
      await runActivity(sync.fetchBranch);
      await runActivity(sync.publishSnapshot, { sha: first });
      // The manifest of `first` exists once a copy was made; no ready copy is kept (disabled here).
      await runCopy(createCopyActivities(config).latestCopy, 'ada', request('latest', { dir: 'one' }));
      const c2 = await upstream.commit({ 'nb/x.ipynb': '{}' });
      await runActivity(sync.fetchBranch);
      await runActivity(sync.publishSnapshot, { sha: c2 });
      assert.ok(await cachedManifest(config.dataDir, c2));
      await ready.settled(); // the ready copy of c2, made whole: none of `first` was kept
      assert.deepEqual(await fs.readdir(staging(config.usersDir)), [path.basename(ReadyCopies.pathOf('', c2))]);
      const two = await runCopy(copies.latestCopy, 'ada', request('latest', { dir: 'two' }));
      assert.deepEqual(await readTree(two.path), { 'README.md': '# notebooks\n', 'nb/x.ipynb': '{}' });
    } finally {
      await ready.close();
    }
  });

  test('the first publish on a host makes the ready copy before current points at the commit', async () => {
    const { config, first } = await sandbox();
    const ready = new ReadyCopies(true);
    const hook = readyCopyAfterPublish(config, ready);
    const seen: Array<{ ahead: boolean; current: string | null }> = [];
    const sync = createSyncActivities(config, async (commit, log, previous, ahead) => {
      seen.push({ ahead, current: await readCurrent(config.cacheDir) });
      await hook(commit, log, previous, ahead);
    });
    await fs.mkdir(path.join(config.usersDir, 'ada'), { recursive: true });
    try {
      await runActivity(sync.syncPass, { shas: [first], tip: false, published: null });
      assert.deepEqual(seen, [{ ahead: true, current: null }], 'told before the swap');
      // Made already when the publish ends: no waiting for a background copy.
      assert.ok(await fs.stat(ReadyCopies.pathOf(staging(config.usersDir), first)).catch(() => null));
      const res = await runCopy(createCopyActivities(config, ready).provisionCopy, 'ada', request('provision'));
      assert.deepEqual(await readTree(res.path), { 'README.md': '# notebooks\n' });
      assert.deepEqual(await fs.readdir(path.join(config.usersDir, 'ada')).then((n) => n.includes('notebooks')), true);
    } finally {
      await ready.close();
    }
  });

  test('a worker that starts without a ready copy of the published commit makes one at once', async () => {
    const { config, upstream } = await sandbox();
    const sync = createSyncActivities(config); // published while no worker kept ready copies
    const c2 = await upstream.commit({ 'nb/x.ipynb': '{}' });
    await runActivity(sync.syncPass, { shas: [c2], tip: false, published: null });
    await fs.mkdir(path.join(config.usersDir, 'ada'), { recursive: true });
    const noop = () => undefined;
    const log = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
    const ready = new ReadyCopies(true);
    try {
      await readyCopyAtStart(config, ready, log);
      const made = ReadyCopies.pathOf(staging(config.usersDir), c2);
      const ino = (await waitFor('the ready copy', () => fs.stat(made).catch(() => null), 20_000)).ino;
      await readyCopyAtStart(config, ready, log); // there: nothing to do
      assert.equal((await fs.stat(made)).ino, ino);
      const res = await runCopy(createCopyActivities(config, ready).provisionCopy, 'ada', request('provision'));
      assert.deepEqual(await readTree(res.path), { 'README.md': '# notebooks\n', 'nb/x.ipynb': '{}' });
      assert.equal((await fs.stat(res.path)).ino, ino, 'the request took the ready copy');
    } finally {
      await ready.close();
    }
  });
});
