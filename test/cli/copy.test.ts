/**
 * `nblc copy` as operators run it (a child process) against a real Temporal dev server, with a
 * worker in this process: exit statuses, the per-file report, bulk runs.
 *
 *   node --import tsx --test test/cli/copy.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { publishTree } from '../helpers/copies.js';
import { nb, upstreamRepo } from '../helpers/notebook-copies.js';
import { tempDir, testConfig } from '../helpers/fixtures.js';
import { nblcEnv, runNblc, startNblc } from '../helpers/processes.js';
import { useTestEnv } from '../helpers/temporal.js';

const dir = await tempDir('nblc-cli-copy-');
const config = testConfig(dir, '/nonexistent.git', { NBLC_TASK_QUEUE: 'cli-copy' });

const env = useTestEnv({ worker: config });
before(async () => {
  for (const u of ['ada', 'bob']) await fs.mkdir(path.join(config.usersDir, u), { recursive: true });
});

/** Runs `nblc copy …` to the end without blocking this process (its worker must keep running). */
async function copy(...args: string[]) {
  const p = startNblc(['copy', ...args], nblcEnv(env.address, config));
  const { code } = await p.exited;
  return { code, output: p.output() };
}

describe('nblc copy', () => {
  test('usage errors exit 2 with a clear message, before connecting anywhere', () => {
    const cases: Array<[string[], RegExp]> = [
      [['../etc', '--mode', 'provision'], /invalid user name/],
      [['.ssh', '--mode', 'update'], /invalid user name/],
      [['ada', '--mode', 'delete'], /--mode takes provision, latest, update/],
      [['ada'], /--mode takes/],
      [['ada', '--all', '--mode', 'update'], /a user, or --all/],
      [['--mode', 'update'], /a user, or --all/],
      [['--all', '--mode', 'latest'], /--all takes --mode provision or update/],
      [['ada', '--mode', 'latest', '--dir', '../bob'], /invalid directory name/],
      [['ada', '--mode', 'provision', '--dir', 'x'], /provision takes no directory/],
    ];
    for (const [args, message] of cases) {
      const res = runNblc(['copy', ...args], { ...nblcEnv(env.address, config), TEMPORAL_ADDRESS: '127.0.0.1:1' });
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, message);
    }
  });

  test('provision, edit, update: exit 0 and the per-file report; a failing request exits 1', async () => {
    await publishTree(config.cacheDir, { 'Intro/Hello World.ipynb': 'v1', 'README.md': 'v1' });
    const provisioned = await copy('ada', '--mode', 'provision');
    assert.equal(provisioned.code, 0, provisioned.output);
    assert.match(provisioned.output, /provisioned notebooks\/ from [0-9a-f]{7}/);
    assert.match(provisioned.output, /added\s+Intro\/Hello World\.ipynb/);
    assert.match(provisioned.output, /notebooks-latest -> .*current \(created\)/);

    await fs.writeFile(path.join(config.usersDir, 'ada', 'notebooks', 'Intro', 'Hello World.ipynb'), 'my edit');
    const sha = await publishTree(config.cacheDir, { 'Intro/Hello World.ipynb': 'v2', 'README.md': 'v2' });
    const updated = await copy('ada', '--mode', 'update');
    assert.equal(updated.code, 0, updated.output);
    assert.match(updated.output, /conflict\s+Intro\/Hello World\.ipynb/);
    assert.match(
      updated.output,
      new RegExp(`your version kept; upstream's is Intro/Hello World\\.upstream-${sha.slice(0, 7)}\\.ipynb`),
    );
    assert.match(updated.output, /updated\s+README\.md/);
    assert.match(updated.output, /2 files: 1 conflict, 1 updated/);

    const latest = await copy('ada', '--mode', 'latest', '--json');
    assert.equal(latest.code, 0, latest.output);
    const json = JSON.parse(latest.output) as { name: string; created: boolean };
    assert.match(json.name, /^notebooks_\d{8}_\d{6}$/);
    assert.equal(json.created, true);

    // status.json of the last scheduled run: the new copy's notebooks that fail upstream are named.
    const health = (status: string) => ({ status, since: '2026-12-07T03:00:00.000Z', lastPass: null });
    await fs.writeFile(
      path.join(config.cacheDir, 'status.json'),
      JSON.stringify({
        version: 1,
        notebooks: { 'Intro/Hello World.ipynb': health('failed'), 'x.ipynb': health('failed') },
      }),
    );
    const told = await copy('ada', '--mode', 'latest');
    await fs.rm(path.join(config.cacheDir, 'status.json'));
    assert.equal(told.code, 0, told.output);
    assert.match(told.output, /1 notebook\(s\) of this copy currently fail upstream/);
    assert.match(told.output, /^ {2}Intro\/Hello World\.ipynb$/m);

    const missing = await copy('ada', '--mode', 'update', '--dir', 'nope');
    assert.equal(missing.code, 1);
    assert.match(missing.output, /does not exist.*\[CopyNotFound\]/);
  });

  test('--all: every user, a summary, exit 1 when a user failed', async () => {
    await publishTree(config.cacheDir, { 'a.ipynb': 'v1' });
    const ok = await copy('--all', '--mode', 'provision');
    assert.equal(ok.code, 0, ok.output);
    assert.match(ok.output, /2 users: 2 ok \(1 created\), 0 failed/); // ada had notebooks/ already

    await fs.symlink(dir, path.join(config.usersDir, 'mallory'));
    const failed = await copy('--all', '--mode', 'update');
    assert.equal(failed.code, 1, failed.output);
    assert.match(failed.output, /3 users: 2 ok .*, 1 failed/);
    assert.match(failed.output, /failed\s+mallory: .*symlink/);
  });

  test('a notebook both changed is merged: the report says which cells came from where', async () => {
    await fs.mkdir(path.join(config.usersDir, 'cy'), { recursive: true });
    const up = await upstreamRepo(config, dir);
    const cells = (third: string) => [{ source: 'a = 1', ran: '1\n' }, { source: 'b = 2' }, { source: third }];
    await up.publish({ 'Tutorial.ipynb': nb(cells('url = "old"')) });
    assert.equal((await copy('cy', '--mode', 'provision')).code, 0);
    const mine = cells('url = "old"');
    mine.push({ source: '# my notes', type: 'markdown' } as (typeof mine)[number]);
    await fs.writeFile(path.join(config.usersDir, 'cy', 'notebooks', 'Tutorial.ipynb'), nb(mine));
    await up.publish({ 'Tutorial.ipynb': nb(cells('url = "new"')) });
    const updated = await copy('cy', '--mode', 'update');
    assert.equal(updated.code, 0, updated.output);
    assert.match(updated.output, /merged\s+Tutorial\.ipynb\n\s+cell 3 from upstream; cell 4 yours/);
    assert.match(updated.output, /1 files: 1 merged/);
  });
});
