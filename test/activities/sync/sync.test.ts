/**
 * The sync activities after the fetch, against real git: planSync, readPublished, diffCommits, and
 * several hosts each with its own clone. fetchBranch: fetch.test.ts.
 *
 *   node --import tsx --test test/activities/sync/sync.test.ts
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  cloneDir,
  createSyncActivities,
  MAX_CHANGED_BYTES,
  MAX_CHANGED_PATHS,
} from '../../../src/activities/sync/index.js';
import { sandbox, testConfig } from '../../helpers/fixtures.js';
import { runActivity } from '../../helpers/activities.js';

const exec = promisify(execFile);

describe('planSync', () => {
  /** An upstream with a line of merges fetched into the clone. */
  async function line(n: number) {
    const sb = await sandbox();
    const commits = [sb.first];
    for (let i = 1; i <= n; i++)
      commits.push(await sb.upstream.commit({ [`nb-${i}.ipynb`]: `{"v": ${i}}` }, `Merge #${i}`));
    const acts = createSyncActivities(sb.config);
    const { tip } = await runActivity(acts.fetchBranch);
    assert.equal(tip, commits[n]);
    return { ...sb, acts, commits: commits as [string, ...string[]], tip };
  }

  test('several merges in one batch: the newest is published, the others are superseded', async () => {
    const { acts, commits: c, tip } = await line(4);
    const candidates = [c[2]!, c[4]!, c[1]!, c[3]!];
    const plan = await runActivity(acts.planSync, { candidates, published: c[0], tip });
    assert.deepEqual(plan, {
      tip,
      target: c[4],
      outcomes: {
        [c[1]!]: { outcome: 'superseded', sha: c[1] },
        [c[2]!]: { outcome: 'superseded', sha: c[2] },
        [c[3]!]: { outcome: 'superseded', sha: c[3] },
        [c[4]!]: { outcome: 'publish', sha: c[4] },
      },
    });
  });

  test('a merged side branch: the merge is newest; its side commit is superseded, then stale once the merge is out', async () => {
    const { upstream, first, config } = await sandbox();
    const g = upstream.git;
    await g.raw(['checkout', '--quiet', '-b', 'feature', first]);
    const side = await upstream.commit({ 'side.ipynb': '{}' }, 'Side work'); // pushes main, which it is not on
    await g.raw(['checkout', '--quiet', 'main']);
    const main = await upstream.commit({ 'main.ipynb': '{}' }, 'Mainline work');
    await g.raw(['merge', '--quiet', '--no-ff', '-m', 'Merge feature', 'feature']);
    await g.push('origin', 'main');
    const merge = (await g.revparse(['HEAD'])).trim();
    const acts = createSyncActivities(config);
    const { tip } = await runActivity(acts.fetchBranch);
    assert.equal(tip, merge);

    const plan = await runActivity(acts.planSync, { candidates: [side, merge, main], published: first, tip });
    assert.equal(plan.target, merge);
    assert.deepEqual(plan.outcomes, {
      [side]: { outcome: 'superseded', sha: side },
      [main]: { outcome: 'superseded', sha: main },
      [merge]: { outcome: 'publish', sha: merge },
    });
    const after = await runActivity(acts.planSync, { candidates: [side, main], published: merge, tip });
    assert.deepEqual(after, {
      tip,
      target: null,
      outcomes: { [side]: { outcome: 'stale', sha: side }, [main]: { outcome: 'stale', sha: main } },
    });
  });

  test('nothing published yet: the candidate is published', async () => {
    const { acts, commits: c, tip } = await line(1);
    const plan = await runActivity(acts.planSync, { candidates: [c[0]], published: null, tip });
    assert.equal(plan.target, c[0]);
    assert.deepEqual(plan.outcomes, { [c[0]]: { outcome: 'publish', sha: c[0] } });
  });

  test('candidates older than or equal to the published commit are stale', async () => {
    const { acts, commits: c, tip } = await line(4);
    const same = await runActivity(acts.planSync, { candidates: [c[3]!], published: c[3]!, tip });
    assert.deepEqual(same, { tip, target: null, outcomes: { [c[3]!]: { outcome: 'stale', sha: c[3] } } });

    const older = await runActivity(acts.planSync, { candidates: [c[1]!, c[2]!, c[3]!], published: c[3]!, tip });
    assert.equal(older.target, null, 'nothing newer than the published commit was asked for');
    for (const x of [c[1]!, c[2]!, c[3]!]) assert.deepEqual(older.outcomes[x], { outcome: 'stale', sha: x });

    // A newer one in the same batch is published; the old one is still reported as stale.
    const mixed = await runActivity(acts.planSync, { candidates: [c[2]!, c[4]!], published: c[3]!, tip });
    assert.equal(mixed.target, c[4]);
    assert.deepEqual(mixed.outcomes[c[2]!], { outcome: 'stale', sha: c[2] });
    assert.deepEqual(mixed.outcomes[c[4]!], { outcome: 'publish', sha: c[4] });
  });

  test('a SHA that does not exist is unreachable, with a reason an operator can act on', async () => {
    const { acts, commits: c, tip } = await line(1);
    const ghost = 'deadbeef'.repeat(5);
    const plan = await runActivity(acts.planSync, { candidates: [ghost], published: c[0], tip });
    assert.equal(plan.target, null);
    const o = plan.outcomes[ghost];
    assert.equal(o?.outcome, 'unreachable');
    assert.equal(o?.sha, undefined);
    assert.match(o?.reason ?? '', new RegExp(ghost));
    assert.match(o?.reason ?? '', /astro-datalab\/notebooks-latest/);
    assert.match(o?.reason ?? '', /nblc sync/);

    // It does not hide a valid candidate of the same batch.
    const both = await runActivity(acts.planSync, { candidates: [ghost, c[1]!], published: c[0], tip });
    assert.equal(both.target, c[1]);
    assert.equal(both.outcomes[ghost]?.outcome, 'unreachable');
    assert.equal(both.outcomes[c[1]!]?.outcome, 'publish');
  });

  test('a commit force-pushed away is unreachable although the clone still has it', async () => {
    const { upstream, acts, commits: c, config } = await line(2);
    const rewritten = await upstream.forcePush({ 'fresh.ipynb': '{}' });
    const { tip } = await runActivity(acts.fetchBranch);
    assert.equal(tip, rewritten);
    // The old commit is still an object of the private clone...
    const cat = await exec('git', ['cat-file', '-t', c[2]!], { cwd: cloneDir(config) });
    assert.equal(cat.stdout.trim(), 'commit');

    // ...but no longer on the branch.
    const plan = await runActivity(acts.planSync, { candidates: [c[2]!, rewritten], published: c[1]!, tip });
    assert.equal(plan.target, rewritten);
    const o = plan.outcomes[c[2]!];
    assert.equal(o?.outcome, 'unreachable');
    assert.equal(o?.sha, c[2]);
    assert.match(o?.reason ?? '', /not on branch main/);
    assert.match(o?.reason ?? '', new RegExp(rewritten));

    const alone = await runActivity(acts.planSync, { candidates: [c[2]!], published: c[1]!, tip });
    assert.equal(alone.target, null);
    assert.equal(alone.outcomes[c[2]!]?.outcome, 'unreachable');
  });

  test('short SHAs resolve to full ones; outcomes stay keyed by the candidate as given', async () => {
    // Candidates come from beacons and may be short; the published commit is the worker's own
    // (readPublished), always full: a short one is refused (test/activities/forged-inputs.test.ts).
    const { acts, commits: c, tip } = await line(3);
    const short2 = c[2]!.slice(0, 7);
    const short3 = c[3]!.slice(0, 10);
    const plan = await runActivity(acts.planSync, { candidates: [short2, short3], published: c[1]!, tip });
    assert.equal(plan.target, c[3]);
    assert.deepEqual(plan.outcomes, {
      [short2]: { outcome: 'superseded', sha: c[2] },
      [short3]: { outcome: 'publish', sha: c[3] },
    });
    const stale = await runActivity(acts.planSync, { candidates: [short2], published: c[3]!, tip });
    assert.deepEqual(stale, { tip, target: null, outcomes: { [short2]: { outcome: 'stale', sha: c[2] } } });
  });
});

describe('readPublished', () => {
  test('is null before anything is published and the SHA after; publishes are told to onPublished', async () => {
    const { config, first, upstream } = await sandbox();
    const told: string[] = [];
    const acts = createSyncActivities(config, (commit) => void told.push(commit));
    assert.equal(await runActivity(acts.readPublished), null, 'no cache directory at all');
    await fs.mkdir(config.cacheDir, { recursive: true });
    assert.equal(await runActivity(acts.readPublished), null, 'an empty cache directory');

    await runActivity(acts.fetchBranch);
    await runActivity(acts.publishSnapshot, { sha: first });
    assert.equal(await runActivity(acts.readPublished), first);

    const second = await upstream.commit({ 'x.txt': 'x' });
    await runActivity(acts.fetchBranch);
    await runActivity(acts.publishSnapshot, { sha: second });
    // A restarted worker reads the state from disk.
    assert.equal(await runActivity(createSyncActivities(config).readPublished), second);
    assert.deepEqual(told, [first, second], 'each publish is told (the ready copy follows it)');
  });
});

describe('diffCommits', () => {
  test('lists the paths changed between two commits, spaces and unicode included', async () => {
    const { upstream, config, first } = await sandbox();
    const base = await upstream.commit({
      'notebooks/keep.ipynb': '{"v": 1}',
      'notebooks/gone soon.ipynb': '{"v": 1}',
      'notebooks/edit me.ipynb': '{"v": 1}',
    });
    const head = await upstream.commit({
      'notebooks/gone soon.ipynb': null,
      'notebooks/edit me.ipynb': '{"v": 2}',
      'notebooks/new folder/Ünïcødé notebook.ipynb': '{}',
      'run.sh': { content: '#!/bin/sh\n', mode: 0o755 },
    });
    const acts = createSyncActivities(config);
    await runActivity(acts.fetchBranch);
    const changed = (await runActivity(acts.diffCommits, { from: base, to: head })) as string[];
    assert.deepEqual(changed.sort(), [
      'notebooks/edit me.ipynb',
      'notebooks/gone soon.ipynb',
      'notebooks/new folder/Ünïcødé notebook.ipynb',
      'run.sh',
    ]);
    assert.deepEqual(await runActivity(acts.diffCommits, { from: head, to: head }), []);
    const all = (await runActivity(acts.diffCommits, { from: first, to: head })) as string[];
    assert.ok(all.includes('notebooks/keep.ipynb') && !all.includes('notebooks/gone soon.ipynb'));

    // A mode-only change (chmod +x) counts as a change.
    const chmod = await upstream.commit({ 'notebooks/keep.ipynb': { content: '{"v": 1}', mode: 0o755 } });
    await runActivity(acts.fetchBranch);
    assert.deepEqual(await runActivity(acts.diffCommits, { from: head, to: chmod }), ['notebooks/keep.ipynb']);
  });

  test('a change too large to list (more paths or bytes than a history should carry) gives its size only', async () => {
    const { upstream, config } = await sandbox();
    const base = await upstream.commit({ 'a.ipynb': '{}' });
    const files = (n: number, name: (i: number) => string) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [name(i), `${i}\n`]));
    const atCap = await upstream.commit(files(MAX_CHANGED_PATHS, (i) => `data/${i}.csv`));
    const overCap = await upstream.commit({ 'data/one-more.csv': '1\n' });
    // Few paths, but long ones: 300 of ~1,000 bytes (in folders: a name has at most 255).
    const deep = ['d', 'e', 'f', 'g'].map((c) => c.repeat(240)).join('/');
    const long = await upstream.commit(files(300, (i) => `long/${i}/${deep}.csv`));
    const acts = createSyncActivities(config);
    await runActivity(acts.fetchBranch);
    const listed = await runActivity(acts.diffCommits, { from: base, to: atCap });
    assert.ok(Array.isArray(listed) && listed.length === MAX_CHANGED_PATHS, 'at the cap: listed');
    assert.deepEqual(await runActivity(acts.diffCommits, { from: base, to: overCap }), {
      tooMany: MAX_CHANGED_PATHS + 1,
    });
    assert.deepEqual(await runActivity(acts.diffCommits, { from: overCap, to: long }), { tooMany: 300 });
    assert.ok(300 * 1000 > MAX_CHANGED_BYTES);
  });
});

describe('several worker hosts', () => {
  test('each host has its own clone: plan, publish and diff on a host that did not fetch catch up first', async () => {
    const { dir, upstream, config, first } = await sandbox();
    // Host B shares the cache with host A, not the data directory (the private clone).
    const hostB = testConfig(dir, upstream.url, {
      NBLC_DATA_DIR: path.join(dir, 'data-b'),
      NBLC_CACHE_DIR: config.cacheDir,
    });
    const a = createSyncActivities(config);
    const b = createSyncActivities(hostB);
    const second = await upstream.commit({ 'nb.ipynb': '{"v": 2}' });
    const { tip } = await runActivity(a.fetchBranch);
    assert.equal(tip, second);
    const plan = await runActivity(b.planSync, { candidates: [second], published: null, tip });
    assert.equal(plan.target, second, 'host B fetched what host A had fetched');
    const third = await upstream.commit({ 'nb.ipynb': '{"v": 3}' });
    await runActivity(b.fetchBranch);
    const published = await runActivity(a.publishSnapshot, { sha: third });
    assert.equal(published.sha, third, 'host A catches up on a commit only B fetched');
    assert.deepEqual(
      await runActivity(createSyncActivities({ ...hostB, dataDir: path.join(dir, 'data-c') }).diffCommits, {
        from: first,
        to: third,
      }),
      ['nb.ipynb'],
    );
  });
});
