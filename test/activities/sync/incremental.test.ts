/**
 * Publishing in proportion to the change (src/activities/sync/incremental.ts): every snapshot
 * built from the previous one must equal a full checkout of its commit byte for byte (modes,
 * link targets, names that are not UTF-8, submodules), share the inode of every unchanged file
 * with the previous snapshot, and converge after a crash at any point.
 *
 *   node --import tsx --test test/activities/sync/incremental.test.ts
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { joinBytes, readdirBytes } from '../../../src/activities/files.js';
import { cloneDir, createSyncActivities } from '../../../src/activities/sync/index.js';
import { materialize, prune, readCurrent, snapshotPath } from '../../../src/activities/sync/snapshot.js';
import type { FileContent } from '../../../src/demo/sample-repo.js';
import { sandbox, tempDir } from '../../helpers/fixtures.js';
import { runActivity } from '../../helpers/activities.js';

interface Node {
  kind: 'file' | 'dir' | 'symlink';
  mode: number;
  data: string;
  ino: number;
}

/** Every entry below `root` by its name's bytes (as Latin-1): kind, mode, content hash or link target, inode. */
async function treeOf(root: string): Promise<Map<string, Node>> {
  const out = new Map<string, Node>();
  const visit = async (dir: Buffer, rel: Buffer | null): Promise<void> => {
    for (const e of await readdirBytes(dir)) {
      const r = rel ? joinBytes(rel, e.name) : e.name;
      const p = joinBytes(dir, e.name);
      const st = await fs.lstat(p);
      const kind = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : 'file';
      const data =
        kind === 'file'
          ? createHash('sha256')
              .update(await fs.readFile(p))
              .digest('hex')
          : kind === 'symlink'
            ? (await fs.readlink(p, { encoding: 'buffer' })).toString('latin1')
            : '';
      out.set(r.toString('latin1'), { kind, mode: st.mode & 0o7777, data, ino: st.ino });
      if (kind === 'dir') await visit(p, r);
    }
  };
  await visit(Buffer.from(root), null);
  return out;
}

const withoutInodes = (t: Map<string, Node>) =>
  [...t.entries()].map(([k, { kind, mode, data }]) => [k, kind, mode.toString(8), data]).sort();

async function setup() {
  const sb = await sandbox({ NBLC_KEEP_SNAPSHOTS: '20' });
  const acts = createSyncActivities(sb.config);
  const cache = sb.config.cacheDir;
  const gitDir = cloneDir(sb.config);
  const refCache = await tempDir('nblc-ref-');
  const publish = async (sha: string) => {
    await runActivity(acts.fetchBranch);
    return runActivity(acts.publishSnapshot, { sha });
  };
  /** The snapshot of `sha` equals a full checkout of `sha` (the publish of today, checked against git elsewhere). */
  const assertEqualsFull = async (sha: string) => {
    await materialize({ gitDir, cacheDir: refCache, sha });
    const [mine, ref] = await Promise.all([treeOf(snapshotPath(cache, sha)), treeOf(snapshotPath(refCache, sha))]);
    assert.deepEqual(withoutInodes(mine), withoutInodes(ref), `snapshot of ${sha.slice(0, 7)} equals a full checkout`);
    const root = await fs.lstat(snapshotPath(cache, sha));
    assert.equal(root.mode & 0o777, 0o555);
    return mine;
  };
  return { ...sb, acts, cache, gitDir, publish, assertEqualsFull };
}

/** Unchanged entries (same kind, mode and bytes at the same path) share their inode; others do not. */
function assertShared(before: Map<string, Node>, after: Map<string, Node>, changedAtLeast: number) {
  let shared = 0;
  let fresh = 0;
  for (const [k, n] of after) {
    if (n.kind === 'dir') continue;
    const o = before.get(k);
    const same = !!o && o.kind === n.kind && o.mode === n.mode && o.data === n.data;
    if (same) {
      assert.equal(n.ino, o.ino, `${k} is unchanged and shares its inode with the previous snapshot`);
      shared++;
    } else {
      if (o) assert.notEqual(n.ino, o.ino, `${k} changed and has its own inode`);
      fresh++;
    }
  }
  assert.ok(shared > 0, 'some files are shared');
  assert.ok(fresh >= changedAtLeast, `at least ${changedAtLeast} entries are new (${fresh})`);
}

const latin1 = (s: string) => Buffer.from(s, 'latin1');

describe('incremental publish', () => {
  test('every snapshot of a sequence of changes equals a full checkout and shares what did not change', async () => {
    const { upstream, publish, assertEqualsFull, first } = await setup();
    const work = Buffer.from(upstream.workDir);
    const filler: Record<string, FileContent> = {};
    for (let i = 0; i < 40; i++) filler[`keep/part ${i % 4}/nb-${i}.ipynb`] = `{"n": ${i}}\n`;
    await publish(first);
    let before = await assertEqualsFull(first);

    // 1. Adds of every kind: executables, symlinks (to a file, to a folder, dangling), deep folders, odd names.
    await fs.writeFile(joinBytes(work, latin1('caf\xe9.txt')), 'latin-1 name\n');
    await fs.mkdir(joinBytes(work, latin1('d\xfcr')));
    await fs.writeFile(joinBytes(work, latin1('d\xfcr/inside.txt')), 'inside\n');
    const c1 = await upstream.commit({
      ...filler,
      'a.txt': 'a1\n',
      'dir/b.txt': 'b\n',
      'dir/sub/c.txt': 'c\n',
      'run.sh': { content: '#!/bin/sh\necho 1\n', mode: 0o755 },
      'mode.sh': '#!/bin/sh\n',
      'tofile/x.txt': 'x\n',
      todir: 'todir\n',
      'swap.txt': 'plain\n',
      'only/one/deep/file.txt': 'deep\n',
    });
    await fs.symlink('a.txt', path.join(upstream.workDir, 'link'));
    await fs.symlink('dir', path.join(upstream.workDir, 'dirlink'));
    await fs.symlink('nowhere', path.join(upstream.workDir, 'dangling'));
    const c2 = await upstream.commit({ 'added-links.txt': 'with links\n' });
    for (const sha of [c1, c2]) {
      const res = await publish(sha);
      assert.equal(res.reused, false);
      const now = await assertEqualsFull(sha);
      assertShared(before, now, 1);
      before = now;
    }

    // 2. Modify, delete (emptying folders), rename, mode changes, symlink retargets, type changes.
    await fs.rm(path.join(upstream.workDir, 'link'));
    await fs.symlink('dir/b2.txt', path.join(upstream.workDir, 'link'));
    await fs.rm(path.join(upstream.workDir, 'swap.txt'));
    await fs.symlink('a.txt', path.join(upstream.workDir, 'swap.txt'));
    await fs.rm(path.join(upstream.workDir, 'dangling'));
    await fs.mkdir(path.join(upstream.workDir, 'dangling'));
    await fs.writeFile(joinBytes(work, latin1('caf\xe9.txt')), 'latin-1 name, changed\n');
    await fs.writeFile(joinBytes(work, latin1('d\xfcr/n\xe4u.txt')), 'new odd name\n');
    await fs.rm(path.join(upstream.workDir, 'tofile'), { recursive: true });
    const c3 = await upstream.commit({
      'a.txt': 'a2\n',
      'dir/b.txt': null,
      'dir/b2.txt': 'b\n',
      'dir/sub/c.txt': null,
      'only/one/deep/file.txt': null,
      'run.sh': { content: '#!/bin/sh\necho 1\n', mode: 0o644 },
      'mode.sh': { content: '#!/bin/sh\n', mode: 0o755 },
      tofile: 'now a file\n',
      todir: null,
      'todir/y.txt': 'now a folder\n',
      'dangling/z.txt': 'a folder where a symlink was\n',
      'keep/part 0/nb-0.ipynb': '{"n": "changed"}\n',
      'new/deep/er/d.txt': 'd\n',
    });
    await publish(c3);
    let now = await assertEqualsFull(c3);
    assertShared(before, now, 10);
    assert.equal(now.has('dir/sub'), false, 'a folder the change emptied is gone');
    assert.equal(now.has('only'), false, 'and its emptied parents too');
    before = now;

    // 3. Back: symlink → file, folder → symlink, odd names removed, a submodule added.
    await fs.rm(path.join(upstream.workDir, 'swap.txt'));
    await fs.rm(path.join(upstream.workDir, 'dangling'), { recursive: true });
    await fs.symlink('todir', path.join(upstream.workDir, 'dangling'));
    await fs.rm(joinBytes(work, latin1('d\xfcr')), { recursive: true });
    await upstream.git.raw(['add', '-A']);
    await upstream.git.raw(['update-index', '--add', '--cacheinfo', `160000,${first},ext/module`]);
    await upstream.git.raw(['update-index', '--add', '--cacheinfo', `160000,${first},tofile`]);
    await upstream.git.raw(['commit', '--quiet', '-m', 'submodules']);
    await upstream.git.push('origin', 'main');
    const sub = (await upstream.git.revparse(['HEAD'])).trim();
    await publish(sub);
    now = await assertEqualsFull(sub);
    assertShared(before, now, 1);
    assert.equal(now.get('ext/module')?.kind, 'dir', 'a submodule is an empty folder, as in a full publish');
    before = now;

    // 4. The submodules go (a file where one was), folders are emptied; an unrelated history (force push).
    const c4 = await upstream.commit({ 'swap.txt': 'plain again\n', tofile: 'a file again\n' });
    await publish(c4);
    now = await assertEqualsFull(c4);
    assertShared(before, now, 2);
    before = now;
    const c5 = await upstream.commit({ 'new/deep/er/d.txt': null, 'keep/part 1/nb-1.ipynb': '{}\n' });
    await publish(c5);
    now = await assertEqualsFull(c5);
    assertShared(before, now, 1);
    const c6 = await upstream.forcePush({ 'README.md': '# rewritten\n', 'keep/part 2/nb-2.ipynb': null });
    await publish(c6);
    await assertEqualsFull(c6);
    for (const sha of [first, c1, c2, c3, sub, c4, c5]) await assertEqualsFull(sha); // earlier ones untouched
  });

  test('a previous snapshot that does not match its commit is not built on: full checkout instead', async () => {
    const { upstream, publish, assertEqualsFull, cache, first } = await setup();
    await publish(first);
    const c1 = await upstream.commit({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
    await publish(c1);
    // Someone (root) removed a file of the published snapshot that the next commit changes.
    const prev = snapshotPath(cache, c1);
    await fs.chmod(prev, 0o755);
    await fs.rm(path.join(prev, 'a.txt'));
    await fs.chmod(prev, 0o555);
    const c2 = await upstream.commit({ 'a.txt': 'a2\n' });
    await publish(c2);
    const now = await assertEqualsFull(c2);
    const b = (await fs.lstat(path.join(prev, 'b.txt'))).ino;
    assert.notEqual(now.get('b.txt')!.ino, b, 'nothing was linked from the damaged snapshot');
  });

  test('a crash at any point converges: leftovers are replaced, kept snapshots never damaged', async () => {
    const { upstream, publish, assertEqualsFull, cache, gitDir, acts } = await setup();
    const big: Record<string, FileContent> = {};
    for (let i = 0; i < 400; i++) big[`nb/${i % 20}/file ${i}.ipynb`] = `{"v": 1, "i": ${i}}\n`;
    const base = await upstream.commit(big);
    await publish(base);
    const baseTree = await assertEqualsFull(base);
    const changed: Record<string, FileContent> = {};
    for (let i = 0; i < 400; i += 2) changed[`nb/${i % 20}/file ${i}.ipynb`] = `{"v": 2, "i": ${i}}\n`;
    for (let i = 1; i < 40; i += 4) changed[`nb/${i % 20}/file ${i}.ipynb`] = null;
    const next = await upstream.commit(changed);
    await runActivity(acts.fetchBranch);

    // A process killed while it builds `next` from `base` (and swaps `current`), at several moments.
    const snapshotModule = fileURLToPath(new URL('../../../src/activities/sync/snapshot.ts', import.meta.url));
    const code = `
      const { materialize, swapCurrent } = await import(${JSON.stringify(snapshotModule)});
      process.stdout.write('go\\n');
      await materialize({ gitDir: ${JSON.stringify(gitDir)}, cacheDir: ${JSON.stringify(cache)}, sha: '${next}', previous: '${base}' });
      await swapCurrent(${JSON.stringify(cache)}, '${next}');
      process.stdout.write('done\\n');`;
    let killedMidway = 0;
    for (const delayMs of [0, 3, 10, 25]) {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      await new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => (out += b) && resolve()));
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('close', r));
      if (!out.includes('done')) killedMidway++;
      // Whatever the moment: `current` is the old or the new commit, and a published one is whole.
      const current = await readCurrent(cache);
      assert.ok(current === base || current === next, `current is ${current}`);
      if (await fs.lstat(snapshotPath(cache, next)).catch(() => null)) await assertEqualsFull(next);
      // Back to the start for the next round: `base` published, no snapshot of `next`.
      if (current === next) await runActivity(acts.publishSnapshot, { sha: base });
      await fs.rename(snapshotPath(cache, next), path.join(cache, 'snapshots', `.gone-${delayMs}`)).catch(() => {});
    }
    assert.ok(killedMidway > 0, 'at least one kill landed before the end');

    // Leftovers of those attempts do not block the publish, which converges.
    const res = await publish(next);
    assert.equal(res.reused, false);
    assertShared(baseTree, await assertEqualsFull(next), 200);
    assert.equal(await readCurrent(cache), next);

    // Pruning the leftovers (old enough) and the base snapshot never breaks the kept one.
    const leftovers = (await fs.readdir(path.join(cache, 'snapshots'))).filter((n) => n.startsWith('.'));
    assert.ok(leftovers.length > 0);
    const old = new Date(Date.now() - 60 * 60_000);
    for (const n of leftovers) await fs.utimes(path.join(cache, 'snapshots', n), old, old);
    const removed = await prune(cache, 1);
    assert.ok(removed.includes(base));
    assert.deepEqual(
      (await fs.readdir(path.join(cache, 'snapshots'))).filter((n) => n.startsWith('.')),
      [],
      'leftovers removed',
    );
    await assertEqualsFull(next);
  });
});
