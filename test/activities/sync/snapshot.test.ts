/**
 * Publishing snapshots: the tree readers get under `<cache>/current`, built by the real
 * publishSnapshot activity from a real private clone of a real (local) upstream repository.
 * Readers racing the publisher: snapshot-readers.test.ts.
 *
 *   node --import tsx --test test/activities/sync/snapshot.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { materialize, readCurrent } from '../../../src/activities/sync/snapshot.js';
import { cloneDir } from '../../../src/activities/sync/index.js';
import { tempDir } from '../../helpers/fixtures.js';
import { committedPaths, expectFailure, runActivity, snapshotNames, walk } from '../../helpers/activities.js';
import { assertPublished, publisher, snapshotDir } from '../../helpers/publisher.js';

const exec = promisify(execFile);

describe('publishSnapshot', () => {
  test('publishes exactly the commit: modes, symlinks, odd paths, read-only, relative current', async () => {
    const { upstream, cache, publish } = await publisher();
    const unicode = 'notebooks/Ünïcødé — 日本語/my first notebook.ipynb';
    const deep = 'a/b/c/d/e/f/g/h/deep file.txt';
    // A committed symlink: git stores it as a link, not as a copy of its target.
    await fs.symlink('../README.md', path.join(upstream.workDir, 'notebooks-link'));
    const sha = await upstream.commit({
      'bin/run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
      'data/table.csv': 'a,b\n1,2\n',
      'data/blob.bin': Buffer.from([0, 1, 2, 255, 254, 10, 13, 0]),
      [unicode]: '{"cells": []}\n',
      [deep]: 'deep\n',
      'with space.md': 'spaces\n',
    });
    assert.ok((await committedPaths(upstream.url, sha)).includes('notebooks-link'));

    const res = await publish(sha);
    const expected = await committedPaths(upstream.url, sha);
    assert.deepEqual(res, { sha, path: snapshotDir(cache, sha), files: expected.length, reused: false, pruned: [] });
    await assertPublished(upstream.url, cache, sha);
    assert.ok(expected.includes(unicode) && expected.includes(deep) && expected.includes('with space.md'));

    const snap = snapshotDir(cache, sha);
    const entries = await walk(snap);
    const byPath = new Map(entries.map((e) => [e.rel, e]));
    // Executable bit kept, nothing else made executable.
    assert.equal(byPath.get('bin/run.sh')!.mode & 0o111, 0o111, 'run.sh stays executable');
    assert.equal(byPath.get('data/table.csv')!.mode & 0o111, 0, 'a plain file is not executable');
    // A symlink stays a symlink with the committed target.
    assert.equal(byPath.get('notebooks-link')!.kind, 'symlink');
    assert.equal(await fs.readlink(path.join(snap, 'notebooks-link')), '../README.md');
    // Read-only for everyone: files, directories, the snapshot root.
    for (const e of entries.filter((x) => x.kind !== 'symlink')) {
      assert.equal(e.mode & 0o222, 0, `${e.kind} ${e.rel} has no write bit (mode ${e.mode.toString(8)})`);
      assert.ok(e.mode & 0o444, `${e.rel} stays readable`);
    }
    assert.equal((await fs.stat(snap)).mode & 0o222, 0, 'the snapshot root has no write bit');
    // The workspace of the build is gone: no temporary tree or index left behind.
    assert.deepEqual((await fs.readdir(path.join(cache, 'snapshots'))).sort(), [sha]);
    assert.deepEqual((await fs.readdir(cache)).sort(), ['current', 'snapshots']);
  });

  test('a file name that is not valid UTF-8 is published byte for byte, read-only like the rest', async () => {
    const { upstream, cache, publish } = await publisher({ NBLC_KEEP_SNAPSHOTS: '1' });
    // Git stores names as bytes: b'caf\xe9.txt' (Latin-1) and a folder b'd\xfcr/' are legal in a commit.
    const latin1 = Buffer.from('caf\xe9.txt', 'latin1');
    const dir = Buffer.from('d\xfcr', 'latin1');
    const work = Buffer.from(upstream.workDir);
    const join = (...parts: Buffer[]) => Buffer.concat(parts.flatMap((p, i) => (i ? [Buffer.from('/'), p] : [p])));
    await fs.writeFile(join(work, latin1), 'latin-1 name\n');
    await fs.mkdir(join(work, dir));
    await fs.writeFile(join(work, dir, Buffer.from('inside.txt')), 'inside\n');
    const sha = await upstream.commit({ 'nb/ok.ipynb': '{}' });

    const res = await publish(sha);
    assert.equal(res.sha, sha);
    assert.equal(await readCurrent(cache), sha);
    const snap = Buffer.from(snapshotDir(cache, sha));
    assert.equal(await fs.readFile(join(snap, latin1), 'utf8'), 'latin-1 name\n');
    assert.equal(await fs.readFile(join(snap, dir, Buffer.from('inside.txt')), 'utf8'), 'inside\n');
    for (const p of [join(snap, latin1), join(snap, dir), join(snap, dir, Buffer.from('inside.txt'))])
      assert.equal((await fs.lstat(p)).mode & 0o222, 0, `${p.toString('latin1')} is read-only`);
    assert.equal(res.files, 4, 'README.md, nb/ok.ipynb and the two files of odd names');

    // The next commit publishes too, and the old snapshot (read-only folder of an odd name) is pruned.
    const next = await upstream.commit({ 'nb/ok.ipynb': '{"v": 2}' });
    assert.deepEqual((await publish(next)).pruned, [sha]);
    assert.equal(await readCurrent(cache), next);
    assert.deepEqual(await snapshotNames(cache), [next]);
  });

  test('the cache can be moved: `current` still resolves because the link is relative', async () => {
    const { cache, publish, first } = await publisher();
    await publish(first);
    const moved = path.join(await tempDir(), 'elsewhere');
    await exec('cp', ['-a', cache, moved]);
    assert.equal(await fs.readFile(path.join(moved, 'current', 'README.md'), 'utf8'), '# notebooks\n');
    assert.equal(await readCurrent(moved), first);
  });

  test('publishing the same commit twice is a no-op that converges', async () => {
    const { upstream, cache, publish } = await publisher();
    const sha = await upstream.commit({ 'x/y.ipynb': '{}', 'run.sh': { content: '#!/bin/sh\n', mode: 0o755 } });
    const firstRes = await publish(sha);
    assert.equal(firstRes.reused, false);
    const before = await walk(cache);
    const inode = (await fs.stat(snapshotDir(cache, sha))).ino;

    const again = await publish(sha);
    assert.deepEqual(again, { sha, path: snapshotDir(cache, sha), files: -1, reused: true, pruned: [] });
    assert.deepEqual(await walk(cache), before, 'same entries, same modes');
    assert.equal((await fs.stat(snapshotDir(cache, sha))).ino, inode, 'the snapshot was not rebuilt');
    await assertPublished(upstream.url, cache, sha);
  });

  test('leftovers of a crashed attempt neither block publishing nor ever become visible', async () => {
    const { upstream, cache, publish, first, config, acts } = await publisher();
    await publish(first);
    const sha = await upstream.commit({ 'nb/a.ipynb': '{"a": 1}', 'nb/b.ipynb': '{"b": 1}', 'README.md': '# v2\n' });
    await runActivity(acts.fetchBranch);

    // A half-written tree of `sha` (wrong and missing files, partly locked) and its index...
    const snaps = path.join(cache, 'snapshots');
    const tmp = path.join(snaps, `.tmp-${sha.slice(0, 12)}-Qx7bZ1`);
    await fs.mkdir(path.join(tmp, 'nb'), { recursive: true });
    await fs.writeFile(path.join(tmp, 'README.md'), '# half writ');
    await fs.writeFile(path.join(tmp, 'nb', 'a.ipynb'), '{"a"');
    await fs.chmod(path.join(tmp, 'nb'), 0o555);
    await fs.writeFile(`${tmp}.index`, 'DIRC garbage');
    // ...and the temporary links of interrupted swaps, one of them pointing at that tree.
    await fs.symlink(path.join('snapshots', path.basename(tmp)), path.join(cache, '.current-0123456789ab'));
    await fs.symlink(path.join('snapshots', 'f'.repeat(40)), path.join(cache, '.current-ba9876543210'));

    const res = await runActivity(acts.publishSnapshot, { sha });
    assert.equal(res.reused, false);
    await assertPublished(upstream.url, cache, sha);
    assert.equal(await fs.readFile(path.join(cache, 'current', 'README.md'), 'utf8'), '# v2\n');
    assert.deepEqual(await snapshotNames(cache), [first, sha].sort());
    assert.equal(await readCurrent(cache), sha);

    // A retry of a crash between "snapshot built" and "current swapped" finishes the job.
    const third = await upstream.commit({ 'nb/c.ipynb': '{}' });
    await runActivity(acts.fetchBranch);
    const built = await materialize({ gitDir: cloneDir(config), cacheDir: cache, sha: third });
    assert.equal(built.reused, false);
    assert.equal(await readCurrent(cache), sha, 'building alone publishes nothing');
    const finished = await runActivity(acts.publishSnapshot, { sha: third });
    assert.equal(finished.reused, true);
    await assertPublished(upstream.url, cache, third);

    // Leftovers old enough to belong to a dead attempt are cleaned up by the next publish.
    const old = new Date(Date.now() - 60 * 60_000);
    await fs.utimes(tmp, old, old);
    await fs.utimes(`${tmp}.index`, old, old);
    for (const link of ['.current-0123456789ab', '.current-ba9876543210'])
      await fs.lutimes(path.join(cache, link), old, old);
    await runActivity(acts.publishSnapshot, { sha: third });
    await assert.rejects(fs.lstat(tmp), { code: 'ENOENT' });
    await assert.rejects(fs.lstat(`${tmp}.index`), { code: 'ENOENT' });
    for (const link of ['.current-0123456789ab', '.current-ba9876543210']) {
      await assert.rejects(fs.lstat(path.join(cache, link)), { code: 'ENOENT' });
    }
    await assertPublished(upstream.url, cache, third);
  });

  test('a commit that is not on the branch is refused and nothing is published', async () => {
    const { upstream, cache, publish, acts, first } = await publisher();
    const second = await upstream.commit({ 'nb/old.ipynb': '{}' });
    await publish(first);
    await runActivity(acts.fetchBranch);
    const rewritten = await upstream.forcePush({ 'nb/new.ipynb': '{}' });
    assert.equal((await runActivity(acts.fetchBranch)).tip, rewritten);

    // `second` is still in the private clone, but force-pushed off the branch.
    await expectFailure(runActivity(acts.publishSnapshot, { sha: second }), {
      type: 'CommitNotOnBranch',
      nonRetryable: true,
      message: new RegExp(`${second}.*main`),
    });
    await assert.rejects(fs.lstat(snapshotDir(cache, second)), { code: 'ENOENT' });
    assert.equal(await readCurrent(cache), first, 'current is untouched');
    assert.deepEqual(await snapshotNames(cache), [first]);
    assert.deepEqual(
      (await fs.readdir(path.join(cache, 'snapshots'))).filter((n) => n.startsWith('.')),
      [],
    );

    // A commit the clone never saw is refused the same way.
    await expectFailure(runActivity(acts.publishSnapshot, { sha: 'ab'.repeat(20) }), {
      type: 'CommitNotFound',
      nonRetryable: true,
    });
    assert.equal(await readCurrent(cache), first);

    // The rewritten tip itself publishes fine.
    await runActivity(acts.publishSnapshot, { sha: rewritten });
    await assertPublished(upstream.url, cache, rewritten);
  });

  test('an abbreviated SHA publishes the commit under its full SHA', async () => {
    const { upstream, cache, publish } = await publisher();
    const sha = await upstream.commit({ 'nb/z.ipynb': '{}' });
    const res = await publish(sha.slice(0, 10));
    assert.equal(res.sha, sha);
    assert.equal(res.path, snapshotDir(cache, sha));
    await assertPublished(upstream.url, cache, sha);
    assert.deepEqual(await fs.readdir(path.join(cache, 'snapshots')), [sha]);
  });

  test('pruning keeps the NBLC_KEEP_SNAPSHOTS most recently published, and always current', async () => {
    const { upstream, cache, publish, first } = await publisher({ NBLC_KEEP_SNAPSHOTS: '2' });
    const c = [first];
    for (let i = 1; i <= 4; i++) c.push(await upstream.commit({ 'v.txt': `${i}\n` }));
    const [c0, c1, c2, c3, c4] = c as [string, string, string, string, string];
    const sorted = (...s: string[]) => [...s].sort();

    assert.deepEqual((await publish(c0)).pruned, []);
    assert.deepEqual((await publish(c1)).pruned, []);
    assert.deepEqual(await snapshotNames(cache), sorted(c0, c1));
    assert.deepEqual((await publish(c2)).pruned, [c0]);
    assert.deepEqual(await snapshotNames(cache), sorted(c1, c2));

    // Rollback: c1 is current again, and counts as the most recently published.
    const back = await publish(c1);
    assert.equal(back.reused, true);
    assert.deepEqual(back.pruned, []);
    assert.equal(await readCurrent(cache), c1);
    assert.deepEqual(await snapshotNames(cache), sorted(c1, c2));
    // So the next publish drops c2 (published before the rollback), not c1.
    assert.deepEqual((await publish(c3)).pruned, [c2]);
    assert.deepEqual(await snapshotNames(cache), sorted(c1, c3));
    await assertPublished(upstream.url, cache, c3);

    // Rolling back to a pruned commit rebuilds it.
    const rebuilt = await publish(c0);
    assert.equal(rebuilt.reused, false);
    assert.deepEqual(rebuilt.pruned, [c1]);
    await assertPublished(upstream.url, cache, c0);
    assert.deepEqual(await snapshotNames(cache), sorted(c0, c3));

    // Whatever the clock says about the others, the current snapshot is never pruned: here the
    // two older snapshots are stamped in the future (clock skew), so they outrank the new
    // current one in "most recently published" order; it survives all the same.
    const future = new Date(Date.now() + 24 * 3600_000);
    await fs.utimes(snapshotDir(cache, c0), future, future);
    await fs.utimes(snapshotDir(cache, c3), future, future);
    const skewed = await publish(c4);
    assert.equal(await readCurrent(cache), c4);
    assert.deepEqual(skewed.pruned, []);
    assert.deepEqual(await snapshotNames(cache), sorted(c0, c3, c4));
    await assertPublished(upstream.url, cache, c4);
  });

  test('no hook of the private clone runs on fetch or publish', async () => {
    const { upstream, config, acts, publish, first, dir } = await publisher();
    await publish(first);
    const clone = cloneDir(config);
    const marker = path.join(dir, 'hook-ran');
    const hooks = ['reference-transaction', 'post-checkout', 'post-index-change', 'post-merge', 'pre-auto-gc'];
    for (const h of hooks) {
      await fs.writeFile(path.join(clone, 'hooks', h), `#!/bin/sh\necho ${h} >> '${marker}'\n`, { mode: 0o755 });
    }

    // Control: plain git in the clone does run them, so their absence below means something.
    await exec('git', ['update-ref', 'refs/nblc-test/control', first], { cwd: clone });
    assert.match(await fs.readFile(marker, 'utf8'), /reference-transaction/);
    await exec('git', ['update-ref', '-d', 'refs/nblc-test/control'], { cwd: clone });
    await fs.rm(marker);

    const sha = await upstream.commit({ 'nb/after-hooks.ipynb': '{}' });
    assert.equal((await runActivity(acts.fetchBranch)).tip, sha);
    await runActivity(acts.publishSnapshot, { sha });
    await runActivity(acts.planSync, { candidates: [sha], published: first, tip: sha });
    await runActivity(acts.diffCommits, { from: first, to: sha });
    await assert.rejects(fs.stat(marker), { code: 'ENOENT' }, 'a hook ran');
    await assertPublished(upstream.url, config.cacheDir, sha);
  });
});
