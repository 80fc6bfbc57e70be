/**
 * A user racing an update of their own copy: a folder of the copy (or the copy itself) swapped
 * for a symlink between the check of a path and the write it guards, played exactly at each such
 * moment through the update's checkpoints. As root, the link leads to another user's copy or to a
 * folder only root may write; neither may change.
 *
 *   node --import tsx --test test/activities/copies/races.test.ts
 */
import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { childProgram } from '../../../src/activities/copies/child-program.js';
import { readCopyManifest } from '../../../src/activities/copies/manifest.js';
import { publishTree, request, runCopy, setup } from '../../helpers/copies.js';

const ADA = { uid: 4242, gid: 4242 };
const BOB = { uid: 4343, gid: 4343 };

/** Every entry below `root`: kind, mode, owner, and content or link target. */
async function state(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const visit = async (rel: string): Promise<void> => {
    const abs = path.join(root, rel);
    const st = await fs.lstat(abs);
    const head = `${st.mode.toString(8)} ${st.uid}:${st.gid}`;
    if (st.isSymbolicLink()) out[rel] = `${head} -> ${await fs.readlink(abs)}`;
    else if (st.isFile()) out[rel] = `${head} ${await fs.readFile(abs, 'utf8')}`;
    else {
      out[rel] = `${head} dir`;
      for (const name of (await fs.readdir(abs)).sort()) await visit(path.join(rel, name));
    }
  };
  await visit('');
  return out;
}

/** Replaces `p` by a symlink to `target`, as the user would (the real folder is kept aside). */
async function swapForLink(p: string, target: string): Promise<void> {
  await fs.rename(p, `${p}.aside`);
  await fs.symlink(target, p);
  await fs.lchown(p, ADA.uid, ADA.gid);
}

const V1 = { 'Intro/a.ipynb': 'v1', 'Intro/gone.ipynb': 'v1', 'b.ipynb': 'v1' };
const V2 = { 'Intro/a.ipynb': 'v2', 'Intro/new.ipynb': 'v2', 'b.ipynb': 'v2' };

/** What an update starts from: ada's copy of V1, owned by ada (with group `gid`), and V2 published. */
async function adaCopiedV1(s: Pick<Awaited<ReturnType<typeof setup>>, 'config' | 'acts' | 'ada'>, gid = ADA.gid) {
  await fs.chown(s.ada, ADA.uid, gid);
  await publishTree(s.config.cacheDir, V1);
  await runCopy(s.acts.provisionCopy, 'ada', request('provision'));
  await publishTree(s.config.cacheDir, V2);
}

describe(
  'as root, a symlink swapped in at the racy moment of an update',
  { skip: process.getuid?.() !== 0 && 'needs root' },
  () => {
    // At each checkpoint below, the swap lands after the update checked the path and before it writes.
    const cases: Array<{ at: string; swap: 'Intro' | 'copy'; to: 'bob' | 'outside' }> = [
      { at: 'remove Intro/gone.ipynb', swap: 'Intro', to: 'bob' },
      { at: 'write Intro/a.ipynb', swap: 'Intro', to: 'bob' },
      { at: 'write Intro/new.ipynb', swap: 'Intro', to: 'outside' },
      { at: 'write b.ipynb', swap: 'copy', to: 'outside' },
      { at: 'manifest', swap: 'copy', to: 'bob' },
      { at: 'checked', swap: 'copy', to: 'bob' },
    ];
    for (const c of cases) {
      test(`${c.swap} → ${c.to} at "${c.at}": nothing outside ada's directory changes`, async () => {
        let hook: (step: string) => Promise<void> = async () => undefined;
        const { dir, config, acts, ada } = await setup(undefined, { checkpoint: (step) => hook(step) });
        const bob = path.join(config.usersDir, 'bob');
        await fs.mkdir(bob, { mode: 0o755 });
        await fs.chown(ada, ADA.uid, ADA.gid);
        await fs.chown(bob, BOB.uid, BOB.gid);
        // Root's own folder, holding what the delivered copy holds (bait for the content checks).
        const outside = path.join(dir, 'outside');
        await fs.mkdir(path.join(outside, 'Intro'), { recursive: true });
        for (const [rel, content] of Object.entries(V1)) await fs.writeFile(path.join(outside, rel), content);

        await publishTree(config.cacheDir, V1);
        await runCopy(acts.provisionCopy, 'ada', request('provision'));
        await runCopy(acts.provisionCopy, 'bob', request('provision'));
        await publishTree(config.cacheDir, V2);
        const before = { bob: await state(bob), outside: await state(outside) };

        const nb = path.join(ada, 'notebooks');
        const targets = { bob: path.join(bob, 'notebooks'), outside };
        let swapped = false;
        hook = async (step) => {
          if (step !== c.at || swapped) return;
          swapped = true;
          if (c.swap === 'copy') await swapForLink(nb, targets[c.to]);
          else await swapForLink(path.join(nb, 'Intro'), path.join(targets[c.to], 'Intro'));
        };
        const res = await runCopy(acts.updateCopy, 'ada', request('update')).catch((err: unknown) => err);
        assert.ok(swapped, `the update reached "${c.at}"`);
        if (res instanceof Error) {
          // Refused by the kernel: the user may not write there.
          assert.ok(res instanceof ApplicationFailure, String(res));
          assert.equal(res.type, 'PermissionDenied', res.message);
        }
        assert.deepEqual(await state(bob), before.bob, "bob's directory is unchanged");
        assert.deepEqual(await state(outside), before.outside, 'the folder outside is unchanged');
      });
    }
  },
);

/**
 * The update helpers this test process started (its children): other test files run theirs at
 * the same time, and a helper of theirs killed here failed them.
 */
async function ownUpdateChildren(): Promise<number[]> {
  const pids: number[] = [];
  for (const pid of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.includes('update-child')) continue;
    const status = await fs.readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    if (Number(/^PPid:\s*(\d+)$/m.exec(status)?.[1]) === process.pid) pids.push(Number(pid));
  }
  return pids;
}

describe(
  'as root, the update runs with the owner’s permissions',
  { skip: process.getuid?.() !== 0 && 'needs root' },
  () => {
    test("its process has the owner's uid and gid, no other group, none of the worker's environment", async () => {
      process.env.NBLC_TEST_SECRET = 'must-not-leak';
      let seen: Record<string, string> | null = null;
      const { config, acts, ada } = await setup(undefined, {
        checkpoint: async (step) => {
          if (step !== 'checked') return;
          for (const pid of await ownUpdateChildren()) {
            const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
            const field = (name: string) =>
              status.match(new RegExp(`^${name}:[ \\t]*([^\\n]*)$`, 'm'))?.[1]?.trim() ?? '';
            seen = {
              uid: field('Uid'),
              gid: field('Gid'),
              groups: field('Groups'),
              environ: await fs.readFile(`/proc/${pid}/environ`, 'utf8'),
            };
          }
        },
      });
      await adaCopiedV1({ config, acts, ada }, ADA.gid + 1);
      await runCopy(acts.updateCopy, 'ada', request('update'));
      delete process.env.NBLC_TEST_SECRET;
      assert.deepEqual(seen, {
        uid: [ADA.uid, ADA.uid, ADA.uid, ADA.uid].join('\t'),
        gid: [ADA.gid + 1, ADA.gid + 1, ADA.gid + 1, ADA.gid + 1].join('\t'),
        groups: '',
        environ: '',
      });
      const program = await childProgram();
      assert.match(program.args.at(-1) ?? '', /\.mjs$/, 'a bundle: no tsx to load in each child');
    });

    test('a helper the user kills mid-update fails the attempt (retryable), and the retry completes', async () => {
      let kill = true;
      const { config, acts, ada } = await setup(undefined, {
        checkpoint: async (step) => {
          if (step !== 'manifest' || !kill) return;
          kill = false;
          for (const pid of await ownUpdateChildren()) process.kill(pid, 'SIGKILL');
        },
      });
      await adaCopiedV1({ config, acts, ada });
      const req = request('update');
      await assert.rejects(runCopy(acts.updateCopy, 'ada', req), (err: Error) => {
        assert.ok(!(err instanceof ApplicationFailure && err.nonRetryable), String(err));
        assert.match(err.message, /SIGKILL/);
        return true;
      });
      const res = await runCopy(acts.updateCopy, 'ada', req);
      assert.deepEqual(Object.fromEntries(res.files.map((f) => [f.path, f.outcome])), {
        'Intro/a.ipynb': 'unchanged',
        'Intro/gone.ipynb': 'removed',
        'Intro/new.ipynb': 'unchanged',
        'b.ipynb': 'unchanged',
      });
      assert.deepEqual((await fs.readdir(ada)).sort(), ['notebooks', 'notebooks-latest'], 'no staging left behind');
    });

    test('a cache the owner cannot read fails the update clearly; nothing is skipped silently', async () => {
      const { config, acts, ada } = await setup();
      await adaCopiedV1({ config, acts, ada });
      const before = await state(path.join(ada, 'notebooks'));
      await fs.chmod(config.cacheDir, 0o700);
      await assert.rejects(runCopy(acts.updateCopy, 'ada', request('update')), (err: Error) => {
        assert.ok(err instanceof ApplicationFailure, String(err));
        assert.equal(err.type, 'PermissionDenied');
        assert.match(err.message, /NBLC_CACHE_DIR readable by users/);
        return true;
      });
      assert.deepEqual(await state(path.join(ada, 'notebooks')), before);
      // One file of the snapshot unreadable (the cache itself readable): the update fails, too.
      await fs.chmod(config.cacheDir, 0o755);
      const sha = await publishTree(config.cacheDir, { ...V2, 'b.ipynb': 'v3' });
      await fs.chmod(path.join(config.cacheDir, 'snapshots', sha, 'b.ipynb'), 0o400);
      await assert.rejects(runCopy(acts.updateCopy, 'ada', request('update')), /permission denied/);
      assert.equal(await fs.readFile(path.join(ada, 'notebooks/b.ipynb'), 'utf8'), 'v1');
    });

    test('a folder the user made read-only is not written: its files are reported, the rest is updated', async () => {
      const { config, acts, ada } = await setup();
      await adaCopiedV1({ config, acts, ada });
      const intro = path.join(ada, 'notebooks/Intro');
      await fs.chmod(intro, 0o555);
      const res = await runCopy(acts.updateCopy, 'ada', request('update'));
      const byPath = Object.fromEntries(res.files.map((f) => [f.path, f]));
      for (const p of ['Intro/a.ipynb', 'Intro/gone.ipynb', 'Intro/new.ipynb']) {
        assert.equal(byPath[p]?.outcome, 'skipped', p);
        assert.match(byPath[p]?.reason ?? '', /permission denied/, p);
      }
      assert.equal(byPath['b.ipynb']?.outcome, 'updated');
      assert.equal(await fs.readFile(path.join(ada, 'notebooks/b.ipynb'), 'utf8'), 'v2');
      assert.equal(await fs.readFile(path.join(intro, 'a.ipynb'), 'utf8'), 'v1');
      const st = await fs.stat(path.join(ada, 'notebooks/b.ipynb'));
      assert.deepEqual([st.uid, st.gid], [ADA.uid, ADA.gid], 'written by the owner');

      // Writable again: the next update catches up (skipped entries kept their old base).
      await fs.chmod(intro, 0o755);
      const again = await runCopy(acts.updateCopy, 'ada', request('update'));
      assert.deepEqual(Object.fromEntries(again.files.map((f) => [f.path, f.outcome])), {
        'Intro/a.ipynb': 'updated',
        'Intro/gone.ipynb': 'removed',
        'Intro/new.ipynb': 'added',
        'b.ipynb': 'unchanged',
      });
    });
  },
);

describe("the copy's manifest, read as root for provision and latest", () => {
  test('opened without following a link or blocking on a FIFO; as root, only one the owner owns counts', async () => {
    const { dir, config, acts, ada } = await setup();
    await publishTree(config.cacheDir, V1);
    await runCopy(acts.provisionCopy, 'ada', request('provision'));
    const nb = path.join(ada, 'notebooks');
    const manifest = await readCopyManifest(nb);
    assert.ok(manifest);
    if (process.getuid?.() === 0) {
      await fs.chown(path.join(nb, '.nblc-manifest.json'), BOB.uid, BOB.gid);
      assert.equal(await readCopyManifest(nb, ADA), null, "bob's file, read for ada");
      assert.deepEqual(await readCopyManifest(nb, BOB), manifest);
    }
    const elsewhere = path.join(dir, 'elsewhere.json');
    await fs.rename(path.join(nb, '.nblc-manifest.json'), elsewhere);
    await fs.symlink(elsewhere, path.join(nb, '.nblc-manifest.json'));
    assert.equal(await readCopyManifest(nb), null, 'a link');
    await fs.rm(path.join(nb, '.nblc-manifest.json'));
    await promisify(execFile)('mkfifo', [path.join(nb, '.nblc-manifest.json')]);
    assert.equal(await readCopyManifest(nb), null, 'a FIFO');
  });
});
