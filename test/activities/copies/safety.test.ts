/**
 * Attacks on the users' copies, on real directories: traversal in user and directory names,
 * symlinked user directories, copies and folders, snapshots with symlinks leading out of them, a
 * forged manifest; and, as root, ownership of everything created.
 *
 *   node --import tsx --test test/activities/copies/safety.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readCopyManifest } from '../../../src/activities/copies/manifest.js';
import { outcomes, publishTree, readTree, rejectsWith, request, runCopy, setup } from '../../helpers/copies.js';

const SUITE = { 'README.md': '# notebooks\n', 'Intro/Hello World.ipynb': '{"v": 1}' };

describe('safety', () => {
  test('user names that could leave NBLC_USERS_DIR are refused before anything is touched', async () => {
    const { dir, config, acts } = await setup();
    await publishTree(config.cacheDir, SUITE);
    const before = await fs.readdir(dir);
    for (const user of ['..', '../ada', 'a/b', '', '.hidden', 'ada\0', '-rf', 'x'.repeat(65), '/etc']) {
      for (const fn of [acts.provisionCopy, acts.latestCopy, acts.updateCopy]) {
        await rejectsWith(runCopy(fn, user, request('provision')), 'InvalidCopyRequest', /invalid user name/);
      }
    }
    assert.deepEqual(await fs.readdir(dir), before);
  });

  test("a user's directory that is a symlink is refused; so is a copy that is one", async () => {
    const { dir, config, acts, ada } = await setup();
    await publishTree(config.cacheDir, SUITE);
    const elsewhere = path.join(dir, 'elsewhere');
    await fs.mkdir(elsewhere);
    await fs.symlink(elsewhere, path.join(config.usersDir, 'mallory'));
    await rejectsWith(runCopy(acts.provisionCopy, 'mallory', request('provision')), 'UnsafePath', /symlink/);
    await fs.symlink(elsewhere, path.join(ada, 'notebooks'));
    assert.equal((await runCopy(acts.provisionCopy, 'ada', request('provision'))).created, false);
    await rejectsWith(runCopy(acts.updateCopy, 'ada', request('update')), 'UnsafePath', /symlink/);
    await rejectsWith(runCopy(acts.latestCopy, 'ada', request('latest', { dir: 'notebooks' })), 'CopyExists');
    assert.deepEqual(await fs.readdir(elsewhere), []);
  });

  test('update never writes through a folder the user replaced by a symlink to elsewhere', async () => {
    const { dir, config, acts, ada } = await setup();
    await publishTree(config.cacheDir, { 'Intro/a.ipynb': 'v1', 'Intro/b.ipynb': 'v1' });
    await runCopy(acts.provisionCopy, 'ada', request('provision'));
    const outside = path.join(dir, 'outside');
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'a.ipynb'), 'v1'); // same content as delivered: bait
    await fs.rm(path.join(ada, 'notebooks/Intro'), { recursive: true });
    await fs.symlink(outside, path.join(ada, 'notebooks/Intro'));
    await publishTree(config.cacheDir, { 'Intro/a.ipynb': 'v2', 'Intro/c.ipynb': 'v2' });
    const res = await runCopy(acts.updateCopy, 'ada', request('update'));
    assert.deepEqual(outcomes(res), {
      'Intro/a.ipynb': 'obstructed',
      'Intro/b.ipynb': 'removed',
      'Intro/c.ipynb': 'obstructed',
    });
    assert.deepEqual(await readTree(outside), { 'a.ipynb': 'v1' }, 'nothing outside the copy changed');
  });

  test('symlinks of the snapshot are copied only when they resolve inside it; others are skipped and reported', async () => {
    const { config, acts, ada } = await setup();
    await publishTree(config.cacheDir, {
      'Intro/Hello.ipynb': 'hi',
      'Intro/link-ok.ipynb': { symlink: 'Hello.ipynb' },
      'data-ok': { symlink: 'Intro' },
      etc: { symlink: '/etc' },
      'Intro/up': { symlink: '../../../../' },
      chain: { symlink: 'etc/passwd' },
      '.nblc-manifest.json': '{"format": "forged"}',
    });
    const res = await runCopy(acts.provisionCopy, 'ada', request('provision'));
    assert.deepEqual(outcomes(res), {
      '.nblc-manifest.json': 'skipped',
      'Intro/Hello.ipynb': 'added',
      'Intro/link-ok.ipynb': 'added',
      'Intro/up': 'skipped',
      chain: 'skipped',
      'data-ok': 'added',
      etc: 'skipped',
    });
    for (const f of res.files.filter((x) => x.outcome === 'skipped')) assert.ok(f.reason, `${f.path} has a reason`);
    assert.deepEqual(await readTree(path.join(ada, 'notebooks')), {
      'Intro/Hello.ipynb': 'hi',
      'Intro/link-ok.ipynb': '-> Hello.ipynb',
      'data-ok': '-> Intro',
    });
    assert.equal(
      (await readCopyManifest(path.join(ada, 'notebooks')))?.commit.length,
      40,
      'our manifest, not the forged one',
    );
  });

  test('a damaged or forged manifest only makes the update more careful', async () => {
    const { config, acts, ada } = await setup();
    await publishTree(config.cacheDir, { 'a.ipynb': 'v1' });
    await runCopy(acts.provisionCopy, 'ada', request('provision'));
    await fs.writeFile(path.join(ada, 'notebooks/a.ipynb'), 'mine');
    await fs.writeFile(path.join(ada, 'notebooks/.nblc-manifest.json'), '{not json');
    await publishTree(config.cacheDir, { 'a.ipynb': 'v2' });
    const res = await runCopy(acts.updateCopy, 'ada', request('update'));
    assert.equal(outcomes(res)['a.ipynb'], 'conflict');
    assert.equal(await fs.readFile(path.join(ada, 'notebooks/a.ipynb'), 'utf8'), 'mine');
  });

  test(
    "as root, everything created belongs to the owner of the user's directory",
    { skip: process.getuid?.() !== 0 && 'needs root' },
    async () => {
      const { config, acts, ada } = await setup();
      await fs.chown(ada, 4242, 4343);
      await publishTree(config.cacheDir, { 'Intro/a.ipynb': 'v1', link: { symlink: 'Intro' } });
      const res = await runCopy(acts.provisionCopy, 'ada', request('provision'));
      await publishTree(config.cacheDir, { 'Intro/a.ipynb': 'v1', 'New/b.ipynb': 'v1', link: { symlink: 'Intro' } });
      await runCopy(acts.updateCopy, 'ada', request('update'));
      const latest = await runCopy(acts.latestCopy, 'ada', request('latest'));
      for (const root of [res.path, latest.path]) {
        for (const rel of ['', 'Intro', 'Intro/a.ipynb', 'link', '.nblc-manifest.json', 'New', 'New/b.ipynb']) {
          const st = await fs.lstat(path.join(root, rel));
          assert.deepEqual([st.uid, st.gid], [4242, 4343], `${root}/${rel}`);
        }
      }
      const link = await fs.lstat(path.join(ada, 'notebooks-latest'));
      assert.deepEqual([link.uid, link.gid], [4242, 4343]);
    },
  );

  test(
    'as root, a missing user directory is not created (nblc cannot know its owner)',
    { skip: process.getuid?.() !== 0 && 'needs root' },
    async () => {
      const { config, acts } = await setup();
      await publishTree(config.cacheDir, SUITE);
      await rejectsWith(runCopy(acts.provisionCopy, 'newcomer', request('provision')), 'UserDirMissing');
    },
  );
});
