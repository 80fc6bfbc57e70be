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
