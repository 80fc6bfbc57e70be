/**
 * fetchBranch against real git: a local bare upstream repository, the private clone under the
 * data directory, real child processes (and a server that never answers); failures typed and
 * free of credentials, the token as a header, cancellation. Only the activity Context is the
 * SDK's test harness (MockActivityEnvironment), which is how heartbeats and cancellation reach
 * the code.
 *
 *   node --import tsx --test test/activities/sync/fetch.test.ts
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
