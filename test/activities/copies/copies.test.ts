/**
 * The copy activities on real directories: provision, latest, update (the rules applied to real
 * trees, property-based, with crashes mid-apply), and retries that find their own work.
 *
 *   node --import tsx --test test/activities/copies/copies.test.ts
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { latestName } from '../../../src/activities/copies/index.js';
import { readCopyManifest, snapshotManifest } from '../../../src/activities/copies/manifest.js';
import { planUpdate } from '../../../src/domain/copies/rules.js';
import { applyPlan, scanCopy } from '../../../src/activities/copies/update.js';
import { snapshotPath } from '../../../src/activities/sync/snapshot.js';
import type { FileOutcome } from '../../../src/domain/copies/model.js';
import { outcomes, publishTree, readTree, rejectsWith, request, runCopy, setup } from '../../helpers/copies.js';
import { TAG, scenario, type Tree } from '../../helpers/copy-scenarios.js';

const SUITE = {
  'README.md': '# notebooks\n',
  '01_GettingStarted/Hello World.ipynb': '{"v": 1}',
  '01_GettingStarted/run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
  '03_Science Examples/data/stars.csv': 'ra,dec\n',
  '03_Science Examples/Read Stars.ipynb': '{"stars": 1}',
};

describe('provision', () => {
  test('creates notebooks/ and the notebooks-latest link; writable by the user; a manifest of what was delivered', async () => {
    const { config, acts, ada } = await setup();
    const sha = await publishTree(config.cacheDir, SUITE);
    const res = await runCopy(acts.provisionCopy, 'ada', request('provision'));
    assert.equal(res.created, true);
    assert.equal(res.path, path.join(ada, 'notebooks'));
    assert.equal(res.commit, sha);
    assert.deepEqual(res.counts, { added: 5 });
    const tree = await readTree(res.path);
    assert.deepEqual(Object.keys(tree), Object.keys(SUITE).sort());
    assert.equal(tree['01_GettingStarted/Hello World.ipynb'], '{"v": 1}');
    assert.equal((await fs.stat(path.join(res.path, 'README.md'))).mode & 0o777, 0o644);
    assert.equal((await fs.stat(path.join(res.path, '01_GettingStarted/run.sh'))).mode & 0o777, 0o755);
    assert.equal((await fs.stat(path.join(res.path, '03_Science Examples'))).mode & 0o777, 0o755);
    assert.equal(await fs.readlink(path.join(ada, 'notebooks-latest')), '/srv/notebooks-cache/current');
    assert.equal(res.link?.outcome, 'created');
    const manifest = await readCopyManifest(res.path);
    assert.equal(manifest?.commit, sha);
    assert.match(manifest?.files['README.md'] ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.deepEqual(await fs.readdir(path.join(config.usersDir, '.nblc-staging')), [], 'nothing left in staging');
  });

  test('never modifies an existing notebooks/; a retry of the same request gets its first answer', async () => {
    const { config, acts, ada } = await setup();
    await publishTree(config.cacheDir, SUITE);
    const first = request('provision');
    await runCopy(acts.provisionCopy, 'ada', first);
    await fs.writeFile(path.join(ada, 'notebooks/README.md'), 'my notes');
    await fs.rm(path.join(ada, 'notebooks/01_GettingStarted'), { recursive: true });
    await publishTree(config.cacheDir, { ...SUITE, 'README.md': 'new upstream' });

    const again = await runCopy(acts.provisionCopy, 'ada', request('provision'));
    assert.equal(again.created, false);
    assert.match(again.message, /exists: left untouched/);
    assert.equal(await fs.readFile(path.join(ada, 'notebooks/README.md'), 'utf8'), 'my notes');
    await assert.rejects(fs.stat(path.join(ada, 'notebooks/01_GettingStarted')));

    const retried = await runCopy(acts.provisionCopy, 'ada', first);
    assert.equal(retried.created, true, 'the retried request recognizes its own copy');
    assert.equal(retried.files.length, 5);
  });

  test('a user entry named notebooks-latest is left alone; a stale link is repointed', async () => {
    const { config, acts, ada } = await setup();
    await publishTree(config.cacheDir, SUITE);
    await fs.symlink('/old/cache', path.join(ada, 'notebooks-latest'));
    assert.equal((await runCopy(acts.provisionCopy, 'ada', request('provision'))).link?.outcome, 'updated');
    assert.equal(await fs.readlink(path.join(ada, 'notebooks-latest')), '/srv/notebooks-cache/current');
    await fs.rm(path.join(ada, 'notebooks-latest'));
    await fs.mkdir(path.join(ada, 'notebooks-latest'));
    assert.equal((await runCopy(acts.provisionCopy, 'ada', request('provision'))).link?.outcome, 'kept-user-entry');
  });

  test('nothing published yet is a clear, non-retryable failure', async () => {
    const { acts } = await setup();
    await rejectsWith(runCopy(acts.provisionCopy, 'ada', request('provision')), 'NothingPublished', /nblc sync/);
  });
});

describe('latest', () => {
  test('notebooks_YYYYMMDD_HHMMSS, a suffix on collision, a given name once, never overwriting', async () => {
    const { config, acts, ada } = await setup();
    await publishTree(config.cacheDir, SUITE);
    const at = '2024-05-06T07:08:09.000Z';
    const name = latestName(at);
    assert.match(name, /^notebooks_\d{8}_\d{6}$/);
    const a = await runCopy(acts.latestCopy, 'ada', request('latest', { requestedAt: at }));
    const b = await runCopy(acts.latestCopy, 'ada', request('latest', { requestedAt: at }));
    assert.equal(a.name, name);
    assert.equal(b.name, `${name}_2`);
    assert.deepEqual(await readTree(b.path), await readTree(a.path));

    const given = request('latest', { dir: 'project-x' });
    assert.equal((await runCopy(acts.latestCopy, 'ada', given)).name, 'project-x');
    await fs.writeFile(path.join(ada, 'project-x/README.md'), 'mine');
    await rejectsWith(runCopy(acts.latestCopy, 'ada', request('latest', { dir: 'project-x' })), 'CopyExists', /exists/);
    const retried = await runCopy(acts.latestCopy, 'ada', given);
    assert.equal(retried.name, 'project-x', 'a retry finds its own copy instead of failing or making another');
    assert.equal(await fs.readFile(path.join(ada, 'project-x/README.md'), 'utf8'), 'mine');
    assert.deepEqual((await fs.readdir(ada)).sort(), [name, `${name}_2`, 'project-x'].sort());
  });
});

describe('update', () => {
  test('the rules of the issue, on a real copy, with the per-file report', async () => {
    const { config, acts, ada } = await setup();
    await publishTree(config.cacheDir, {
      'same.ipynb': 'v1',
      'edited.ipynb': 'v1',
      'editedOnly.ipynb': 'v1',
      'Deleted/nb.ipynb': 'v1',
      'gone.ipynb': 'v1',
      'goneEdited.ipynb': 'v1',
      'notMine.ipynb': 'v1',
    });
    await runCopy(acts.provisionCopy, 'ada', request('provision'));
    const nb = path.join(ada, 'notebooks');
    await fs.writeFile(path.join(nb, 'edited.ipynb'), 'mine');
    await fs.writeFile(path.join(nb, 'editedOnly.ipynb'), 'mine');
    await fs.writeFile(path.join(nb, 'goneEdited.ipynb'), 'mine');
    await fs.rm(path.join(nb, 'Deleted'), { recursive: true });
    await fs.writeFile(path.join(nb, 'my-own.ipynb'), 'own');
    const sha = await publishTree(config.cacheDir, {
      'same.ipynb': 'v2',
      'edited.ipynb': 'v2',
      'editedOnly.ipynb': 'v1',
      'Deleted/nb.ipynb': 'v1',
      'New/fresh.ipynb': 'v1',
      'notMine.ipynb': 'v1',
    });

    const res = await runCopy(acts.updateCopy, 'ada', request('update'));
    assert.deepEqual(outcomes(res), {
      'Deleted/nb.ipynb': 'restored',
      'New/fresh.ipynb': 'added',
      'edited.ipynb': 'conflict',
      'editedOnly.ipynb': 'kept',
      'gone.ipynb': 'removed',
      'goneEdited.ipynb': 'kept-removed-upstream',
      'notMine.ipynb': 'unchanged',
      'same.ipynb': 'updated',
    } satisfies Record<string, FileOutcome>);
    const beside = `edited.upstream-${sha.slice(0, 7)}.ipynb`;
    assert.equal(res.files.find((f) => f.path === 'edited.ipynb')?.upstreamCopy, beside);
    assert.deepEqual(await readTree(nb), {
      'Deleted/nb.ipynb': 'v1',
      'New/fresh.ipynb': 'v1',
      'edited.ipynb': 'mine',
      [beside]: 'v2',
      'editedOnly.ipynb': 'mine',
      'goneEdited.ipynb': 'mine',
      'my-own.ipynb': 'own',
      'notMine.ipynb': 'v1',
      'same.ipynb': 'v2',
    });
    assert.equal((await readCopyManifest(nb))?.commit, sha, 'the manifest moved to the new commit');
    assert.equal(res.previousCommit !== null && res.previousCommit !== sha, true);

    // Converged: another update finds nothing to do and keeps every edit.
    const again = await runCopy(acts.updateCopy, 'ada', request('update'));
    assert.deepEqual(Object.values(outcomes(again)).sort(), [
      'kept',
      'kept',
      'unchanged',
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
    assert.equal(await fs.readFile(path.join(nb, 'edited.ipynb'), 'utf8'), 'mine');
  });

  test('a copy without a manifest (made before nblc) is adopted: identical files managed, differing ones kept', async () => {
    const { config, acts, ada } = await setup();
    await fs.mkdir(path.join(ada, 'notebooks'));
    await fs.writeFile(path.join(ada, 'notebooks/a.ipynb'), 'v1');
    await fs.writeFile(path.join(ada, 'notebooks/b.ipynb'), 'old platform copy');
    await publishTree(config.cacheDir, { 'a.ipynb': 'v1', 'b.ipynb': 'v1', 'c.ipynb': 'v1' });
    const res = await runCopy(acts.updateCopy, 'ada', request('update'));
    assert.deepEqual(outcomes(res), { 'a.ipynb': 'unchanged', 'b.ipynb': 'conflict', 'c.ipynb': 'added' });
    assert.equal(await fs.readFile(path.join(ada, 'notebooks/b.ipynb'), 'utf8'), 'old platform copy');
  });

  test('a missing copy, or a bad directory name, is a typed non-retryable failure', async () => {
    const { config, acts } = await setup();
    await publishTree(config.cacheDir, SUITE);
    await rejectsWith(runCopy(acts.updateCopy, 'ada', request('update')), 'CopyNotFound');
    for (const dir of ['..', '../bob', 'a/b', '.hidden', '', 'notebooks-latest']) {
      await rejectsWith(runCopy(acts.updateCopy, 'ada', request('update', { dir })), 'InvalidCopyRequest');
    }
  });

  test('property: on real trees, no edit lost, unchanged files become upstream, a crash mid-apply converges', async () => {
    const { config, acts, ada } = await setup();
    const write = async (root: string, tree: Tree) => {
      await fs.rm(root, { recursive: true, force: true });
      await fs.mkdir(root, { recursive: true });
      for (const [p, c] of tree) {
        await fs.mkdir(path.dirname(path.join(root, p)), { recursive: true });
        await fs.writeFile(path.join(root, p), c);
      }
    };
    const files = (t: Tree) => Object.fromEntries(t);
    await fc.assert(
      fc.asyncProperty(scenario, fc.nat(), async ({ base, local, upstream }, cut) => {
        const nb = path.join(ada, 'notebooks');
        await fs.rm(nb, { recursive: true, force: true });
        await publishTree(config.cacheDir, files(base));
        await runCopy(acts.provisionCopy, 'ada', request('provision'));
        await write(nb + '.user', local);
        // The user's edits, over the delivered copy (the manifest stays).
        for (const e of await fs.readdir(nb))
          if (e !== '.nblc-manifest.json') await fs.rm(path.join(nb, e), { recursive: true });
        for (const e of await fs.readdir(nb + '.user')) await fs.rename(path.join(nb + '.user', e), path.join(nb, e));
        await fs.rm(nb + '.user', { recursive: true });
        const sha = await publishTree(config.cacheDir, files(upstream), TAG);

        // A crash after some of the actions: apply a prefix by hand, then update for real.
        const snapshotRoot = snapshotPath(config.cacheDir, sha);
        const snap = await snapshotManifest({ dataDir: config.dataDir, snapshotRoot, commit: sha });
        const baseIds = new Map(Object.entries((await readCopyManifest(nb))!.files));
        const upIds = new Map(snap.entries.map((e) => [e.path, e.id]));
        const plan = planUpdate({
          base: baseIds,
          upstream: upIds,
          local: await scanCopy(nb, new Set([...baseIds.keys(), ...upIds.keys()]), TAG),
          tag: TAG,
        });
        const staging = await fs.mkdtemp(path.join(config.usersDir, 'staging-'));
        const prefix = { ...plan, actions: plan.actions.slice(0, cut % (plan.actions.length + 1)) };
        await applyPlan(prefix, baseIds, {
          root: nb,
          snapshotRoot,
          entries: new Map(snap.entries.map((e) => [e.path, e])),
          staging,
          owner: null,
        });
        await fs.rm(staging, { recursive: true });

        const res = await runCopy(acts.updateCopy, 'ada', request('update'));
        const after = await readTree(nb);
        for (const [p, mine] of local) if (base.get(p) !== mine) assert.equal(after[p], mine, `lost ${p}`);
        for (const [p, was] of base)
          if (local.get(p) === was) assert.equal(after[p], upstream.get(p), `unchanged ${p}`);
        for (const f of res.files)
          if (f.outcome === 'conflict') assert.equal(after[f.upstreamCopy!], upstream.get(f.path));
        const again = await runCopy(acts.updateCopy, 'ada', request('update'));
        assert.deepEqual(await readTree(nb), after, 'a second update changes nothing');
        assert.ok(again.files.every((f) => ['unchanged', 'kept', 'obstructed'].includes(f.outcome)));
      }),
      { numRuns: 150 },
    );
  });
});
