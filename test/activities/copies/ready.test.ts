/**
 * The ready copy (src/activities/copies/ready.ts) on real directories: a request takes the copy
 * assembled after the previous one (the very folder, renamed), gets its own manifest and the same
 * report, and a new one follows; an outdated commit's is never handed out; two requests at once;
 * ownership as root; leftovers of crashed processes; stopping mid-copy.
 *
 *   node --import tsx --test test/activities/copies/ready.test.ts
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ReadyCopies } from '../../../src/activities/copies/ready.js';
import { readyCopyAfterPublish } from '../../../src/activities/copies/index.js';
import { readCopyManifest } from '../../../src/activities/copies/manifest.js';
import { publishTree, readTree, request, runCopy, setup } from '../../helpers/copies.js';
import { waitFor } from '../../helpers/fixtures.js';

const SUITE = {
  'README.md': '# notebooks\n',
  '01_GettingStarted/Hello World.ipynb': '{"v": 1}',
  '01_GettingStarted/run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
  '03_Science Examples/Deep/Read Stars.ipynb': '{"stars": 1}',
  'link to intro': { symlink: '01_GettingStarted' },
  escape: { symlink: '../../../etc' },
};

const noop = () => undefined;
const staging = (usersDir: string) => path.join(usersDir, '.nblc-staging');

/**
 * Waits for the ready copy of `sha` and returns its inode; also until this process has cleared
 * its working folders (they are removed just after the ready copy is renamed into place).
 */
async function readyInode(usersDir: string, sha: string, other?: number): Promise<number> {
  const p = ReadyCopies.pathOf(staging(usersDir), sha);
  const mine = new RegExp(`^~(making|trash)~${os.hostname()}~${process.pid}~`);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const st = await fs.stat(p).catch(() => null);
    const busy = (await fs.readdir(staging(usersDir)).catch(() => [] as string[])).some((n) => mine.test(n));
    if (st && st.ino !== other && !busy) return st.ino;
    assert.ok(Date.now() < deadline, `no ready copy of ${sha.slice(0, 7)} appeared`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs `fn` on a setup that keeps ready copies, closing them however it ends. */
async function withReadyCopies(fn: (s: Awaited<ReturnType<typeof setup>>) => Promise<void>): Promise<void> {
  const s = await setup(new ReadyCopies(true));
  try {
    await fn(s);
  } finally {
    await s.ready.close();
  }
}

describe('ready copy', () => {
  test('the next request takes the ready copy (renamed, not copied): same tree and report, its own manifest; another follows', async () => {
    await withReadyCopies(async ({ config, acts, ada }) => {
      const sha = await publishTree(config.cacheDir, SUITE);
      const first = await runCopy(acts.latestCopy, 'ada', request('latest', { dir: 'first' }));
      const ino = await readyInode(config.usersDir, sha);
      assert.deepEqual(await readTree(ReadyCopies.pathOf(staging(config.usersDir), sha)), await readTree(first.path));

      const req = request('latest', { dir: 'second' });
      const second = await runCopy(acts.latestCopy, 'ada', req);
      assert.equal((await fs.stat(second.path)).ino, ino, 'the ready folder itself became the copy');
      assert.deepEqual(await readTree(second.path), await readTree(first.path));
      assert.deepEqual(second.files, first.files);
      assert.equal(second.files.find((f) => f.path === 'escape')?.outcome, 'skipped');
      const manifest = await readCopyManifest(second.path);
      assert.equal(manifest?.requestId, req.requestId);
      assert.equal(manifest?.commit, sha);
      assert.equal((await fs.stat(path.join(second.path, '01_GettingStarted/run.sh'))).mode & 0o777, 0o755);
      assert.equal((await fs.stat(path.join(second.path, 'README.md'))).mode & 0o777, 0o644);

      await readyInode(config.usersDir, sha, ino);
      const provisioned = await runCopy(acts.provisionCopy, 'ada', request('provision'));
      assert.deepEqual(await readTree(provisioned.path), await readTree(first.path));
      assert.equal(await fs.readlink(path.join(ada, 'notebooks-latest')), '/srv/notebooks-cache/current');
    });
  });

  test("an older commit's ready copy is never handed out, and is discarded", async () => {
    await withReadyCopies(async ({ config, acts }) => {
      const v1 = await publishTree(config.cacheDir, { 'a.ipynb': 'v1' });
      await runCopy(acts.latestCopy, 'ada', request('latest', { dir: 'one' }));
      await readyInode(config.usersDir, v1);
      const v2 = await publishTree(config.cacheDir, { 'a.ipynb': 'v2', 'b.ipynb': 'new' });
      const two = await runCopy(acts.latestCopy, 'ada', request('latest', { dir: 'two' }));
      assert.deepEqual(await readTree(two.path), { 'a.ipynb': 'v2', 'b.ipynb': 'new' });
      assert.equal(two.commit, v2);
      await readyInode(config.usersDir, v2);
      assert.deepEqual(
        (await fs.readdir(staging(config.usersDir))).filter((n) => n !== path.basename(ReadyCopies.pathOf('', v2))),
        [],
        'only the published commit has a ready copy',
      );
    });
  });

  test('the first publish on a new host makes a ready copy before any request; the first request takes it', async () => {
    await withReadyCopies(async ({ config, acts, ready }) => {
      const log = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
      await fs.rm(staging(config.usersDir), { recursive: true, force: true }); // nothing ever copied here
      const v1 = await publishTree(config.cacheDir, { 'a.ipynb': 'v1' });
      await readyCopyAfterPublish(config, ready)(v1, log);
      const ino = await readyInode(config.usersDir, v1);
      const first = await runCopy(acts.latestCopy, 'ada', request('latest', { dir: 'one' }));
      assert.equal((await fs.stat(first.path)).ino, ino, 'the very first copy on this host is the ready copy');
      assert.deepEqual(await readTree(first.path), { 'a.ipynb': 'v1' });
      // Requests right after a publish wait for the ready copy it is making (settled()), not copy
      const v2 = await publishTree(config.cacheDir, { 'a.ipynb': 'v2' });
      await fs.rm(ReadyCopies.pathOf(staging(config.usersDir), v1), { recursive: true, force: true });
      await readyCopyAfterPublish(config, ready)(v2, log);
      const second = await runCopy(acts.latestCopy, 'ada', request('latest', { dir: 'two' }));
      assert.deepEqual(await readTree(second.path), { 'a.ipynb': 'v2' });
    });
  });

  test('after a publish the ready copy moves to the new commit, where one was kept', async () => {
    await withReadyCopies(async ({ config, acts, ready }) => {
      const log = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
      const v1 = await publishTree(config.cacheDir, { 'a.ipynb': 'v1' });
      await runCopy(acts.latestCopy, 'ada', request('latest', { dir: 'one' }));
      await readyInode(config.usersDir, v1);
      const v2 = await publishTree(config.cacheDir, { 'a.ipynb': 'v2', 'b.ipynb': 'new' });
      void readyCopyAfterPublish(config, ready)(v2, log);
      const ino = await readyInode(config.usersDir, v2);
      assert.deepEqual(await fs.readdir(staging(config.usersDir)), [path.basename(ReadyCopies.pathOf('', v2))]);
      const two = await runCopy(acts.latestCopy, 'ada', request('latest', { dir: 'two' }));
      assert.equal((await fs.stat(two.path)).ino, ino, 'the first request after the publish takes it');
      assert.deepEqual(await readTree(two.path), { 'a.ipynb': 'v2', 'b.ipynb': 'new' });
      assert.equal(two.commit, v2);
    });
  });

  test('two requests at once: one may take the ready copy, the other copies; both get the whole suite', async () => {
    await withReadyCopies(async ({ config, acts }) => {
      const sha = await publishTree(config.cacheDir, SUITE);
      await fs.mkdir(path.join(config.usersDir, 'bob'));
      const first = await runCopy(acts.latestCopy, 'ada', request('latest', { dir: 'first' }));
      await readyInode(config.usersDir, sha);
      const [a, b] = await Promise.all([
        runCopy(acts.latestCopy, 'ada', request('latest', { dir: 'again' })),
        runCopy(acts.latestCopy, 'bob', request('latest')),
      ]);
      for (const r of [a, b]) assert.deepEqual(await readTree(r.path), await readTree(first.path));
      assert.deepEqual(b.files, first.files);
    });
  });

  test(
    "as root, a ready copy's every entry is handed to the owner of the user's directory",
    { skip: process.getuid?.() !== 0 && 'needs root' },
    async () => {
      await withReadyCopies(async ({ config, acts, ada }) => {
        await fs.chown(ada, 4242, 4343);
        const sha = await publishTree(config.cacheDir, SUITE);
        await runCopy(acts.latestCopy, 'ada', request('latest', { dir: 'first' }));
        const ino = await readyInode(config.usersDir, sha);
        const st = await fs.lstat(path.join(ReadyCopies.pathOf(staging(config.usersDir), sha), 'README.md'));
        assert.equal(st.uid, 0, "a ready copy is the service's until a request takes it");
        const res = await runCopy(acts.latestCopy, 'ada', request('latest', { dir: 'second' }));
        assert.equal((await fs.stat(res.path)).ino, ino);
        const walk = async (rel: string): Promise<void> => {
          const s = await fs.lstat(path.join(res.path, rel));
          assert.deepEqual([s.uid, s.gid], [4242, 4343], rel || '(the copy)');
          if (s.isDirectory())
            for (const e of await fs.readdir(path.join(res.path, rel))) await walk(path.join(rel, e));
        };
        await walk('');
      });
    },
  );

  test("crashed processes' leftovers and an older nblc's ready copy are removed; copies others are making now are left alone", async () => {
    await withReadyCopies(async ({ config, acts }) => {
      const sha = await publishTree(config.cacheDir, SUITE);
      const area = staging(config.usersDir);
      await fs.mkdir(area, { mode: 0o700 });
      const host = os.hostname();
      const dead = spawn('true');
      await once(dead, 'exit');
      const alive = spawn('sleep', ['30']);
      const hoursAgo = new Date(Date.now() - 2 * 3600_000);
      const half = async (name: string, old = false) => {
        await fs.mkdir(path.join(area, name, 'copy'), { recursive: true });
        await fs.writeFile(path.join(area, name, 'copy', 'half.ipynb'), 'half');
        if (old) await fs.utimes(path.join(area, name), hoursAgo, hoursAgo);
      };
      await half('~making~otherhost~123~abc', true); // another host's, untouched for hours
      await half('~trash~otherhost~123~def', true);
      await half(`~making~${host}~${dead.pid}~ghi`); // this host's, its process gone (kill -9, restart)
      await half('~making~otherhost~456~jkl'); // another host's, recent: may be at work
      await half(`~making~${host}~${alive.pid}~mno`); // a live process of this host
      await fs.mkdir(path.join(area, `~ready~${sha}`)); // the format before it was in the name
      try {
        await runCopy(acts.latestCopy, 'ada', request('latest'));
        await readyInode(config.usersDir, sha);
      } finally {
        alive.kill();
      }
      assert.deepEqual(
        (await fs.readdir(area)).sort(),
        [
          '~making~otherhost~456~jkl',
          `~making~${host}~${alive.pid}~mno`,
          path.basename(ReadyCopies.pathOf(area, sha)),
        ].sort(),
      );
    });
  });

  test('close() during assembly stops it and leaves nothing half-made', async () => {
    const ready = new ReadyCopies(true);
    const { config, acts } = await setup(ready);
    const files: Record<string, string> = {};
    for (let i = 0; i < 3000; i++) files[`d${i % 30}/n${i}.ipynb`] = `{"i": ${i}}`;
    const sha = await publishTree(config.cacheDir, files);
    await runCopy(acts.latestCopy, 'ada', request('latest'));
    const area = staging(config.usersDir);
    const deadline = Date.now() + 20_000;
    while (!(await fs.readdir(area)).some((n) => n.startsWith('~making~'))) {
      assert.ok(Date.now() < deadline, 'assembly never started');
      await new Promise((r) => setTimeout(r, 5));
    }
    await ready.close();
    const left = await fs.readdir(area);
    assert.ok(!left.some((n) => n.startsWith('~making~')), `left: ${left.join(', ')}`);
    // Either it was stopped, or it had just finished: never a partial ready copy.
    if (left.includes(path.basename(ReadyCopies.pathOf(area, sha))))
      assert.equal(Object.keys(await readTree(ReadyCopies.pathOf(area, sha))).length, 3000);
  });

  test('off (NBLC_READY_COPY=false): nothing is kept beyond the request, and what an earlier run kept is removed', async () => {
    const { config, acts } = await setup(new ReadyCopies(false));
    const sha = await publishTree(config.cacheDir, SUITE);
    const area = staging(config.usersDir);
    await fs.mkdir(path.join(ReadyCopies.pathOf(area, sha), 'Intro'), { recursive: true });
    const res = await runCopy(acts.latestCopy, 'ada', request('latest'));
    assert.equal((await readTree(res.path))['README.md'], '# notebooks\n', 'copied, not taken from the kept one');
    await waitFor('the kept ready copy removed', async () => (await fs.readdir(area)).length === 0, 20_000);
    await runCopy(acts.latestCopy, 'ada', request('latest'));
    await new Promise((r) => setTimeout(r, 600));
    assert.deepEqual(await fs.readdir(area), []);
  });
});
