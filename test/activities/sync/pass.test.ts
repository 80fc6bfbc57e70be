/**
 * syncPass, the whole pass in one activity (fetch, plan, publish), against real git: what the three
 * activities did one after the other, with one activity's round trip.
 *
 *   node --import tsx --test test/activities/sync/pass.test.ts
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { cloneDir, createSyncActivities } from '../../../src/activities/sync/index.js';
import { readCurrent } from '../../../src/activities/sync/snapshot.js';
import { runActivity } from '../../helpers/activities.js';
import { sandbox } from '../../helpers/fixtures.js';
import { assertPublished } from '../../helpers/publisher.js';

const exec = promisify(execFile);

describe('syncPass', () => {
  test('a batch of beacons and a "pull now": the newest commit is published, the rest superseded, onPublished told', async () => {
    const { config, upstream, first } = await sandbox();
    const told: Array<[string, string | null]> = [];
    const acts = createSyncActivities(config, (commit, _log, previous) => void told.push([commit, previous]));
    const one = await runActivity(acts.syncPass, { shas: [first], tip: false, published: null });
    assert.equal(one.plan.target, first);
    assert.equal(one.published?.sha, first);
    assert.equal(one.published?.reused, false);

    const second = await upstream.commit({ 'dir/a.ipynb': '{"v": 2}' }, 'Merge #2');
    const third = await upstream.commit({ 'dir/b.ipynb': '{"v": 3}', 'x.txt': 'x' }, 'Merge #3');
    const res = await runActivity(acts.syncPass, { shas: [second, third.slice(0, 9)], tip: true, published: first });
    assert.equal(res.tip, third);
    assert.deepEqual(res.plan.outcomes, {
      [second]: { outcome: 'superseded', sha: second },
      [third.slice(0, 9)]: { outcome: 'publish', sha: third },
      [third]: { outcome: 'publish', sha: third },
    });
    assert.equal(res.published?.sha, third);
    await assertPublished(upstream.url, config.cacheDir, third);
    assert.deepEqual(told, [
      [first, null],
      [third, first],
    ]);
  });

  test('nothing new: a stale beacon publishes nothing and leaves current alone', async () => {
    const { config, upstream, first } = await sandbox();
    const acts = createSyncActivities(config);
    const second = await upstream.commit({ 'b.ipynb': '{}' });
    await runActivity(acts.syncPass, { shas: [second], tip: false, published: null });
    const res = await runActivity(acts.syncPass, { shas: [first], tip: false, published: second });
    assert.equal(res.published, null);
    assert.deepEqual(res.plan.outcomes, { [first]: { outcome: 'stale', sha: first } });
    assert.equal(await readCurrent(config.cacheDir), second);
  });

  test('a commit on another branch is unreachable and nothing is published', async () => {
    const { config, upstream, first } = await sandbox();
    await upstream.git.checkoutLocalBranch('feature');
    const feature = await upstream.commit({ 'feature.ipynb': '{}' }, 'feature work');
    await upstream.git.push('origin', 'feature');
    const res = await runActivity(createSyncActivities(config).syncPass, {
      shas: [feature],
      tip: false,
      published: null,
    });
    assert.equal(res.tip, first);
    assert.equal(res.published, null);
    assert.match(res.plan.outcomes[feature]?.reason ?? '', /does not exist .* after fetching main/);
    assert.equal(await readCurrent(config.cacheDir), null);
  });

  test('the tip is right whether the fetch left the branch as a loose ref or packed', async () => {
    const { config, upstream, first } = await sandbox();
    const acts = createSyncActivities(config);
    await runActivity(acts.syncPass, { shas: [], tip: true, published: null });
    // Packed (as `git gc` leaves refs): an unchanged fetch writes no loose ref.
    await exec('git', ['--git-dir', cloneDir(config), 'pack-refs', '--all', '--prune']);
    const same = await runActivity(acts.syncPass, { shas: [], tip: true, published: first });
    assert.equal(same.tip, first);
    assert.equal(same.published, null);
    const next = await upstream.commit({ 'n.ipynb': '{}' });
    const moved = await runActivity(acts.syncPass, { shas: [], tip: true, published: first });
    assert.equal(moved.tip, next);
    assert.equal(moved.published?.sha, next);
  });
});
