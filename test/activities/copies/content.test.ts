/**
 * Content ids of a copy's entries when the user swaps in something that is not a file after the
 * entry was looked at (a FIFO, a symlink to /dev/zero), and updates meeting such entries.
 *
 *   node --import tsx --test test/activities/copies/content.test.ts
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { constants as fsc } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { contentId } from '../../../src/activities/copies/fs.js';
import { tempDir } from '../../helpers/fixtures.js';
import { publishTree, request, runCopy, setup } from '../../helpers/copies.js';

const mkfifo = (p: string) => promisify(execFile)('mkfifo', [p]);

/** Lets a reader blocked on the FIFO go, should the code under test block (a writer's close is EOF). */
async function release(fifo: string) {
  const fh = await fs.open(fifo, fsc.O_WRONLY | fsc.O_NONBLOCK).catch(() => null);
  await fh?.close();
}

describe('contentId', () => {
  test(
    'what was seen as a file is read only if it still is one: FIFO, /dev/zero, link, folder',
    { timeout: 5000 },
    async () => {
      const dir = await tempDir();
      const at = (name: string) => path.join(dir, name);
      await mkfifo(at('fifo'));
      await fs.symlink('/dev/zero', at('zero-link'));
      await fs.mkdir(at('folder'));
      await fs.writeFile(at('file'), 'v1');
      try {
        // Each was a regular file when the caller's readdir saw it.
        assert.equal(await contentId(at('fifo'), 'file'), 'other:fifo');
        assert.equal(await contentId(at('zero-link'), 'file'), 'symlink:/dev/zero');
        assert.equal(await contentId('/dev/zero', 'file'), 'other:device');
        assert.equal(await contentId(at('folder'), 'file'), 'other:dir');
        assert.equal(await contentId(at('gone'), 'file'), null);
        // ...and the other way round: seen as a link, now a file.
        assert.match((await contentId(at('file'), 'symlink')) ?? '', /^sha256:[0-9a-f]{64}$/);
        assert.equal(await contentId(at('zero-link')), 'symlink:/dev/zero');
      } finally {
        await release(at('fifo'));
      }
    },
  );
});

// As root, also with the update in a process of the copy's owner (as-owner.ts).
const owners = process.getuid?.() === 0 ? [null, 4242] : [null];

describe('update', () => {
  for (const uid of owners)
    test(
      `a FIFO and a link to /dev/zero where managed files were: the update completes and reports them${uid ? ` (as uid ${uid})` : ''}`,
      { timeout: 20_000 },
      async () => {
        let hook: (step: string) => Promise<void> = async () => undefined;
        const { config, acts, ada } = await setup(undefined, { checkpoint: (step) => hook(step) });
        if (uid) await fs.chown(ada, uid, uid);
        const v1 = { 'a.ipynb': 'v1', 'b.ipynb': 'v1', 'c.ipynb': 'v1', 'd.ipynb': 'v1', 'gone.ipynb': 'v1' };
        await publishTree(config.cacheDir, v1);
        await runCopy(acts.provisionCopy, 'ada', request('provision'));
        const nb = path.join(ada, 'notebooks');
        // Before the update: a FIFO and a link to /dev/zero in place of two managed files.
        await fs.rm(path.join(nb, 'a.ipynb'));
        await mkfifo(path.join(nb, 'a.ipynb'));
        await fs.rm(path.join(nb, 'b.ipynb'));
        await fs.symlink('/dev/zero', path.join(nb, 'b.ipynb'));
        // During it: the same, swapped in right before the checks of a replace and of a removal.
        hook = async (step) => {
          if (step === 'write c.ipynb') {
            await fs.rm(path.join(nb, 'c.ipynb'));
            await mkfifo(path.join(nb, 'c.ipynb'));
          } else if (step === 'remove gone.ipynb') {
            await fs.rm(path.join(nb, 'gone.ipynb'));
            await fs.symlink('/dev/zero', path.join(nb, 'gone.ipynb'));
          }
        };
        const sha = await publishTree(config.cacheDir, {
          'a.ipynb': 'v2',
          'b.ipynb': 'v2',
          'c.ipynb': 'v2',
          'd.ipynb': 'v2',
        });
        try {
          const res = await runCopy(acts.updateCopy, 'ada', request('update'));
          const byPath = Object.fromEntries(res.files.map((f) => [f.path, f]));
          assert.equal(byPath['a.ipynb']?.outcome, 'conflict');
          assert.equal(byPath['b.ipynb']?.outcome, 'conflict');
          assert.equal(byPath['c.ipynb']?.outcome, 'skipped');
          assert.match(byPath['c.ipynb']?.reason ?? '', /changed in the copy during the update/);
          assert.equal(byPath['gone.ipynb']?.outcome, 'skipped');
          assert.equal(byPath['d.ipynb']?.outcome, 'updated');
          const tag = sha.slice(0, 7);
          assert.equal((await fs.lstat(path.join(nb, 'a.ipynb'))).isFIFO(), true, 'the FIFO stays');
          assert.equal(await fs.readlink(path.join(nb, 'gone.ipynb')), '/dev/zero', 'the link stays');
          assert.equal(await fs.readFile(path.join(nb, `a.upstream-${tag}.ipynb`), 'utf8'), 'v2');
          assert.equal(await fs.readFile(path.join(nb, 'd.ipynb'), 'utf8'), 'v2');
        } finally {
          await release(path.join(nb, 'a.ipynb'));
          await release(path.join(nb, 'c.ipynb'));
        }
      },
    );
});
