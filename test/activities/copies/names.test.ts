/**
 * Odd names in snapshots and copies: names that are not valid UTF-8 (git stores bytes), and names
 * so long that the name beside a conflict would not fit. Published by the real publishSnapshot
 * from a real upstream repository, copied and updated by the real copy activities.
 *
 *   node --import tsx --test test/activities/copies/names.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { createCopyActivities } from '../../../src/activities/copies/index.js';
import { createSyncActivities } from '../../../src/activities/sync/index.js';
import { runActivity } from '../../helpers/activities.js';
import { outcomes, publishTree, readTree, request, runCopy, setup } from '../../helpers/copies.js';
import { sandbox } from '../../helpers/fixtures.js';

const bytes = (s: string) => Buffer.from(s, 'latin1');
const join = (...parts: Buffer[]) => Buffer.concat(parts.flatMap((p, i) => (i ? [Buffer.from('/'), p] : [p])));

describe('names that are not valid UTF-8', () => {
  test('a snapshot holding them is copied and updated; they are reported skipped with the reason', async () => {
    const sb = await sandbox();
    const sync = createSyncActivities(sb.config);
    const acts = createCopyActivities(sb.config);
    const ada = path.join(sb.config.usersDir, 'ada');
    await fs.mkdir(ada, { recursive: true });
    const work = Buffer.from(sb.upstream.workDir);
    await fs.writeFile(join(work, bytes('caf\xe9.txt')), 'latin-1 name\n');
    await fs.mkdir(join(work, bytes('d\xfcr')));
    await fs.writeFile(join(work, bytes('d\xfcr'), bytes('inside.txt')), 'inside\n');
    await fs.symlink(bytes('caf\xe9.txt'), join(work, bytes('link-to-odd')));
    const publish = async (files: Record<string, string>) => {
      const sha = await sb.upstream.commit(files);
      await runActivity(sync.fetchBranch);
      await runActivity(sync.publishSnapshot, { sha });
      return sha;
    };
    await publish({ 'nb/a.ipynb': 'v1' });

    const made = await runCopy(acts.provisionCopy, 'ada', request('provision'));
    const skipped = {
      'caf\\xE9.txt': 'skipped',
      'd\\xFCr': 'skipped',
      'link-to-odd': 'skipped',
    };
    assert.deepEqual(outcomes(made), { 'README.md': 'added', 'nb/a.ipynb': 'added', ...skipped });
    for (const f of made.files.filter((x) => x.outcome === 'skipped'))
      assert.match(f.reason ?? '', /not valid UTF-8/, `${f.path}: ${f.reason}`);
    const nb = path.join(ada, 'notebooks');
    assert.deepEqual(await readTree(nb), { 'README.md': '# notebooks\n', 'nb/a.ipynb': 'v1' });

    // The user keeps a file of such a name in their copy; upstream moves on.
    await fs.writeFile(join(Buffer.from(nb), bytes('mine-\xff.txt')), 'mine\n');
    await publish({ 'nb/a.ipynb': 'v2' });
    const updated = await runCopy(acts.updateCopy, 'ada', request('update'));
    assert.deepEqual(outcomes(updated), { 'README.md': 'unchanged', 'nb/a.ipynb': 'updated', ...skipped });
    assert.equal(await fs.readFile(path.join(nb, 'nb/a.ipynb'), 'utf8'), 'v2');
    assert.equal(await fs.readFile(join(Buffer.from(nb), bytes('mine-\xff.txt')), 'utf8'), 'mine\n');

    const latest = await runCopy(acts.latestCopy, 'ada', request('latest'));
    assert.deepEqual(outcomes(latest), { 'README.md': 'added', 'nb/a.ipynb': 'added', ...skipped });
  });

  test('a folder of the copy with such a name is left alone and keeps its parent from being removed', async () => {
    const { config, acts, ada } = await setup();
    await publishTree(config.cacheDir, { 'old/a.ipynb': 'v1', 'b.ipynb': 'v1' });
    await runCopy(acts.provisionCopy, 'ada', request('provision'));
    const odd = join(Buffer.from(path.join(ada, 'notebooks/old')), bytes('\xe9t\xe9'));
    await fs.mkdir(odd);
    await fs.writeFile(join(odd, bytes('x.txt')), 'x');
    await publishTree(config.cacheDir, { 'b.ipynb': 'v2' });
    const res = await runCopy(acts.updateCopy, 'ada', request('update'));
    assert.deepEqual(outcomes(res), { 'b.ipynb': 'updated', 'old/a.ipynb': 'removed' });
    assert.equal(await fs.readFile(join(odd, bytes('x.txt')), 'utf8'), 'x');
  });
});

describe('names and paths too long', () => {
  test('a conflicting file with a ~250-byte name gets a shortened, unique name beside it; the rest is updated', async () => {
    const { config, acts, ada } = await setup();
    // 250 bytes each, the same first 240: cut short they would collide; é is 2 bytes in UTF-8.
    const stem = 'Very long notebook title '.repeat(9).slice(0, 219) + 'é'.repeat(10);
    const long1 = `Intro/${stem}-one.ipynb`;
    const long2 = `Intro/${stem}-two.ipynb`;
    for (const p of [long1, long2]) assert.equal(Buffer.byteLength(path.basename(p)), 249);
    await publishTree(config.cacheDir, { [long1]: 'v1', [long2]: 'v1', 'other.ipynb': 'v1' });
    await runCopy(acts.provisionCopy, 'ada', request('provision'));
    const nb = path.join(ada, 'notebooks');
    await fs.writeFile(path.join(nb, long1), 'mine 1');
    await fs.writeFile(path.join(nb, long2), 'mine 2');
    await publishTree(config.cacheDir, { [long1]: 'v2 one', [long2]: 'v2 two', 'other.ipynb': 'v2' });

    const res = await runCopy(acts.updateCopy, 'ada', request('update'));
    assert.deepEqual(outcomes(res), { [long1]: 'conflict', [long2]: 'conflict', 'other.ipynb': 'updated' });
    const besides = res.files.filter((f) => f.outcome === 'conflict').map((f) => f.upstreamCopy!);
    assert.equal(new Set(besides).size, 2, `unique: ${besides.join(', ')}`);
    for (const b of besides) {
      assert.ok(Buffer.byteLength(path.basename(b)) <= 255, `${b} fits in a name`);
      assert.match(b, /^Intro\/Very long notebook title .*\.upstream-[0-9a-f]{7}.*\.ipynb$/);
    }
    const tree = await readTree(nb);
    assert.equal(tree[long1], 'mine 1');
    assert.equal(tree[long2], 'mine 2');
    assert.deepEqual(
      besides.map((b) => tree[b]),
      ['v2 one', 'v2 two'],
    );
    assert.equal(tree['other.ipynb'], 'v2');

    // Converged: the next update keeps the user's versions and leaves the ones beside them.
    const again = await runCopy(acts.updateCopy, 'ada', request('update'));
    assert.deepEqual(outcomes(again), { [long1]: 'kept', [long2]: 'kept', 'other.ipynb': 'unchanged' });
    assert.deepEqual(await readTree(nb), tree);
  });

  test('a path the filesystem refuses as too long is reported skipped; the rest is updated', async () => {
    const { config, acts, ada } = await setup();
    await publishTree(config.cacheDir, { 'a.ipynb': 'v1' });
    const copy = 'c'.repeat(128); // the longest copy name
    await runCopy(acts.latestCopy, 'ada', request('latest', { dir: copy }));
    // A path that fits under the snapshot's root (PATH_MAX is 4096 bytes) but not under the
    // copy's, which is longer.
    const snapshotRoot = path.join(config.cacheDir, 'snapshots', 'f'.repeat(40));
    const room = 4095 - Buffer.byteLength(snapshotRoot) - 1;
    const parts: string[] = [];
    while (parts.join('/').length + 201 < room - 20) parts.push('d'.repeat(200));
    const deep = `${parts.join('/')}/${'n'.repeat(room - parts.join('/').length - 1)}`;
    assert.ok(Buffer.byteLength(path.join(ada, copy, deep)) > 4095);
    await publishTree(config.cacheDir, { 'a.ipynb': 'v2', [deep]: 'deep' });

    const res = await runCopy(acts.updateCopy, 'ada', request('update', { dir: copy }));
    assert.deepEqual(outcomes(res), { 'a.ipynb': 'updated', [deep]: 'skipped' });
    assert.match(res.files.find((f) => f.path === deep)?.reason ?? '', /too long/);
    assert.equal(await fs.readFile(path.join(ada, copy, 'a.ipynb'), 'utf8'), 'v2');
  });
});
