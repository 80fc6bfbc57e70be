/**
 * The sync activities against real git: a local bare upstream repository, the private clone
 * under the data directory, real child processes. Only the activity Context is the SDK's test
 * harness (MockActivityEnvironment), which is how heartbeats and cancellation reach the code.
 *
 *   node --import tsx --test test/activities/sync/sync.test.ts
 */
import { ApplicationFailure } from '@temporalio/common';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';
import { inspect, promisify } from 'node:util';
import { cloneDir, createSyncActivities } from '../../../src/activities/sync/index.js';
import { sandbox, tempDir, testConfig, waitFor } from '../../helpers/fixtures.js';
import { activityEnv, expectFailure, runActivity } from '../../helpers/activities.js';

const exec = promisify(execFile);

/** Command lines of running processes that mention `needle` (never this `ps` itself). */
async function processesMentioning(needle: string): Promise<string[]> {
  const { stdout } = await exec('ps', ['-eo', 'pid,args']);
  return stdout.split('\n').filter((l) => l.includes(needle));
}

/**
 * How `promise` settles within `ms`: 'hung' if it does not (a cancellation that does not reach
 * git would otherwise hang the test file for good).
 */
async function settleWithin(
  promise: Promise<unknown>,
  ms: number,
): Promise<{ state: 'resolved' | 'rejected' | 'hung'; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<{ state: 'hung' }>((r) => (timer = setTimeout(() => r({ state: 'hung' }), ms)));
  const settled = promise.then(
    () => ({ state: 'resolved' as const }),
    (error: unknown) => ({ state: 'rejected' as const, error }),
  );
  try {
    return await Promise.race([settled, hung]);
  } finally {
    clearTimeout(timer);
  }
}

/** Ends git processes this test started for the port, should an assertion have failed first. */
async function killLeftovers(port: number): Promise<void> {
  for (const line of await processesMentioning(`127.0.0.1:${port}`)) {
    const pid = Number(line.trim().split(/\s+/)[0]);
    if (pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** A TCP server that accepts connections and never says a word (a hung git daemon). */
async function silentServer() {
  const sockets: net.Socket[] = [];
  const closed: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.resume(); // read (and drop) whatever git sends, so its hang-up is noticed
    s.on('error', () => undefined);
    s.on('close', () => closed.push(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    sockets,
    closed,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('fetchBranch', () => {
  test('returns the upstream tip, follows new merges, and is idempotent once the clone exists', async () => {
    const { upstream, config, first } = await sandbox();
    const acts = createSyncActivities(config);
    const env = activityEnv();
    const heartbeats: unknown[] = [];
    env.on('heartbeat', (d) => heartbeats.push(d));

    assert.deepEqual(await env.run(acts.fetchBranch), { tip: first });
    assert.ok(heartbeats.length >= 1, 'a fetch heartbeats at least once');
    // The private clone is bare and lives under the data directory.
    const clone = cloneDir(config);
    assert.equal(clone, path.join(config.dataDir, 'repo.git'));
    assert.equal((await fs.stat(path.join(clone, 'HEAD'))).isFile(), true);
    await assert.rejects(fs.stat(path.join(clone, '.git')), { code: 'ENOENT' });

    // Same tip again: nothing changes, no error although the clone exists.
    assert.deepEqual(await runActivity(acts.fetchBranch), { tip: first });

    const second = await upstream.commit({ 'intro.ipynb': '{"cells": []}\n' });
    assert.deepEqual(await runActivity(acts.fetchBranch), { tip: second });
    const third = await upstream.commit({ 'intro.ipynb': null, 'other.ipynb': '{}' });
    const fourth = await upstream.commit({ 'README.md': '# v4\n' });
    assert.deepEqual(await runActivity(acts.fetchBranch), { tip: fourth }, 'several merges at once: the newest');
    assert.notEqual(third, fourth);

    // A fresh activities object (a worker restart) works on the existing clone.
    assert.deepEqual(await runActivity(createSyncActivities(config).fetchBranch), { tip: fourth });
  });

  test('a force push moves the tip back to the rewritten history', async () => {
    const { upstream, config } = await sandbox();
    const acts = createSyncActivities(config);
    await upstream.commit({ 'a.txt': 'a' });
    await runActivity(acts.fetchBranch);
    const rewritten = await upstream.forcePush({ 'b.txt': 'b' });
    assert.deepEqual(await runActivity(acts.fetchBranch), { tip: rewritten });
  });

  test('a wrong NBLC_REPO_URL is a non-retryable GitRepositoryNotFound that names the variable', async () => {
    const dir = await tempDir();
    const config = testConfig(dir, path.join(dir, 'no-such-repo.git'));
    const failure = await expectFailure(runActivity(createSyncActivities(config).fetchBranch), {
      type: 'GitRepositoryNotFound',
      nonRetryable: true,
      message: /check NBLC_REPO_URL/,
    });
    assert.match(failure.message, /fetching main failed/);
  });

  test('a wrong NBLC_BRANCH is a non-retryable GitBranchNotFound that names the variable', async () => {
    const { dir, upstream } = await sandbox();
    const config = testConfig(dir, upstream.url, { NBLC_BRANCH: 'no-such-branch' });
    await expectFailure(runActivity(createSyncActivities(config).fetchBranch), {
      type: 'GitBranchNotFound',
      nonRetryable: true,
      message: /check NBLC_BRANCH/,
    });
  });

  test('credentials in NBLC_REPO_URL never reach the failure or the heartbeats', { timeout: 30_000 }, async () => {
    const dir = await tempDir();
    const cases = [
      // Port 1: nothing listens, the connection is refused (a transient, retryable network error).
      { url: 'https://user:s3cret@127.0.0.1:1/x.git', secret: 's3cret' },
      // git does not scrub these: "unable to look up user:s3cret@127.0.0.1:1", percent-decoded.
      { url: 'git://user:s3cret@127.0.0.1:1/x.git', secret: 's3cret' },
      { url: 'git://us%65r:s3%63ret@127.0.0.1:1/x.git', secret: 's3cret' },
      // A token given as the user name, as GitHub accepts it.
      { url: 'git://ghp_n0tAr3alT0ken@127.0.0.1:1/x.git', secret: 'ghp_n0tAr3alT0ken' },
    ];
    for (const { url, secret } of cases) {
      const config = testConfig(dir, url);
      const env = activityEnv();
      const heartbeats: unknown[] = [];
      env.on('heartbeat', (d) => heartbeats.push(d));
      const failure = await expectFailure(env.run(createSyncActivities(config).fetchBranch), {
        type: 'GitError',
        nonRetryable: false,
        message: /fetching main failed: .*fatal/,
      });
      const leak = new RegExp(secret);
      assert.doesNotMatch(failure.message, leak, url);
      // Nothing else carried with the failure (stack, cause, details) has it either.
      assert.doesNotMatch(inspect(failure, { depth: 10 }), leak, url);
      assert.doesNotMatch(JSON.stringify([failure.details, failure.cause ?? null]), leak, url);
      assert.doesNotMatch(JSON.stringify(heartbeats), leak, url);
    }
  });

  test('NBLC_GIT_TOKEN is sent as a header, never in argv, and never in the failure', async () => {
    const token = 'ghs_t0ken-that-must-not-leak';
    const seen: Array<string | undefined> = [];
    let argvDuringRequest: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      void processesMentioning(`127.0.0.1:${port}`).then((lines) => {
        argvDuringRequest = lines;
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end('denied');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const dir = await tempDir();
      const config = testConfig(dir, `http://127.0.0.1:${port}/org/notebooks.git`, { NBLC_GIT_TOKEN: token });
      const failure = await expectFailure(runActivity(createSyncActivities(config).fetchBranch), {
        type: 'GitAuthFailed',
        nonRetryable: true,
        message: /NBLC_GIT_TOKEN/,
      });
      assert.doesNotMatch(inspect(failure, { depth: 10 }), new RegExp(token));
      const basic = `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
      assert.ok(seen.includes(basic), `the token reached the server as a header (got ${JSON.stringify(seen)})`);
      assert.ok(argvDuringRequest.length > 0, 'the git process was seen while it talked to the server');
      for (const line of argvDuringRequest) {
        assert.doesNotMatch(line, new RegExp(token));
        assert.doesNotMatch(line, new RegExp(basic.split(' ')[1]!.slice(0, 20)));
      }
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  // git:// is one process; https:// runs `git remote-https` helpers that must die with it.
  for (const scheme of ['git', 'https'] as const) {
    test(
      `cancelling the activity kills every git process of a hung ${scheme}:// fetch`,
      { timeout: 30_000 },
      async () => {
        const daemon = await silentServer();
        try {
          const dir = await tempDir();
          const url = `${scheme}://127.0.0.1:${daemon.port}/repo.git`;
          const config = testConfig(dir, url);
          const env = activityEnv();
          const started = env.run(createSyncActivities(config).fetchBranch);
          started.catch(() => undefined); // asserted below

          await waitFor('git to connect', async () => daemon.sockets.length > 0, 15_000);
          const before = await processesMentioning(`127.0.0.1:${daemon.port}`);
          assert.ok(
            before.some((l) => /\bgit\b/.test(l)),
            `a git process for ${url} runs: ${before.join(' | ')}`,
          );

          // The fetch hangs for good: git waits for the server's first bytes, which never come.
          await new Promise((r) => setTimeout(r, 300));
          assert.equal(daemon.closed.length, 0, 'git is still waiting');

          const t0 = Date.now();
          env.cancel();
          const { state, error } = await settleWithin(started, 5000);
          assert.equal(state, 'rejected', 'the activity ends promptly after the cancellation');
          assert.ok(Date.now() - t0 < 5000);
          // Not turned into an ApplicationFailure that the workflow would retry as a git error.
          assert.ok(!(error instanceof ApplicationFailure), `cancellation surfaced as ${inspect(error)}`);
          assert.match(String((error as Error)?.message ?? error), /abort|cancel/i);

          let leftover = await processesMentioning(`127.0.0.1:${daemon.port}`);
          for (const deadline = Date.now() + 5000; leftover.length > 0 && Date.now() < deadline;) {
            await new Promise((r) => setTimeout(r, 100));
            leftover = await processesMentioning(`127.0.0.1:${daemon.port}`);
          }
          assert.deepEqual(leftover, [], 'no git process for the URL survives the cancellation');
          await waitFor(
            'the daemon to see the connection close',
            async () => daemon.closed.length === daemon.sockets.length,
            5000,
          );
        } finally {
          await killLeftovers(daemon.port);
          await daemon.close();
        }
      },
    );
  }

  test('a cancelled attempt does not break the next fetch into the same clone', { timeout: 30_000 }, async () => {
    const { dir, upstream, config, first } = await sandbox();
    const daemon = await silentServer();
    try {
      const hung = testConfig(dir, `git://127.0.0.1:${daemon.port}/repo.git`);
      const env = activityEnv();
      const attempt = env.run(createSyncActivities(hung).fetchBranch);
      attempt.catch(() => undefined);
      await waitFor('git to connect', async () => daemon.sockets.length > 0, 15_000);
      env.cancel();
      assert.equal((await settleWithin(attempt, 5000)).state, 'rejected');
    } finally {
      await killLeftovers(daemon.port);
      await daemon.close();
    }
    // The retry (same data directory, the real URL) succeeds.
    assert.deepEqual(await runActivity(createSyncActivities(config).fetchBranch), { tip: first });
    const next = await upstream.commit({ 'n.txt': 'n' });
    assert.deepEqual(await runActivity(createSyncActivities(config).fetchBranch), { tip: next });
  });
});

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
    const { acts, commits: c, tip } = await line(3);
    const short2 = c[2]!.slice(0, 7);
    const short3 = c[3]!.slice(0, 10);
    const plan = await runActivity(acts.planSync, { candidates: [short2, short3], published: c[1]!.slice(0, 8), tip });
    assert.equal(plan.target, c[3]);
    assert.deepEqual(plan.outcomes, {
      [short2]: { outcome: 'superseded', sha: c[2] },
      [short3]: { outcome: 'publish', sha: c[3] },
    });
    const stale = await runActivity(acts.planSync, { candidates: [short2], published: c[3]!.slice(0, 9), tip });
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
    const changed = await runActivity(acts.diffCommits, { from: base, to: head });
    assert.deepEqual(changed.sort(), [
      'notebooks/edit me.ipynb',
      'notebooks/gone soon.ipynb',
      'notebooks/new folder/Ünïcødé notebook.ipynb',
      'run.sh',
    ]);
    assert.deepEqual(await runActivity(acts.diffCommits, { from: head, to: head }), []);
    const all = await runActivity(acts.diffCommits, { from: first, to: head });
    assert.ok(all.includes('notebooks/keep.ipynb') && !all.includes('notebooks/gone soon.ipynb'));

    // A mode-only change (chmod +x) counts as a change.
    const chmod = await upstream.commit({ 'notebooks/keep.ipynb': { content: '{"v": 1}', mode: 0o755 } });
    await runActivity(acts.fetchBranch);
    assert.deepEqual(await runActivity(acts.diffCommits, { from: head, to: chmod }), ['notebooks/keep.ipynb']);
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
