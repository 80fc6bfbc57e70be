/**
 * The `nblc` command as operators run it: a real child process, the embedded Temporal server
 * from .venv, real HTTP, real git.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { freePort } from '../src/process/embedded.js';
import { createUpstream, sendPush } from '../src/demo/sample-repo.js';
import { TEST_REPO, TEST_SECRET, tempDir, waitFor } from './helpers/fixtures.js';
import { Secret } from '../src/platform/secret.js';
import { userToken } from '../src/platform/copies/user-tokens.js';
import { processesMatching, runNblc, startNblc } from './helpers/processes.js';

const readCurrent = (cacheDir: string) =>
  fs.readlink(path.join(cacheDir, 'current')).then(
    (t) => path.basename(t),
    () => null,
  );

describe('nblc CLI', () => {
  test('--help lists the commands', () => {
    const res = runNblc(['--help'], {});
    assert.equal(res.code, 0, res.stderr);
    for (const cmd of ['start', 'worker', 'api', 'sync', 'status', 'demo'])
      assert.match(res.stdout, new RegExp(`\\b${cmd}\\b`));
  });

  test("--help describes the whole service; --version prints package.json's version", async () => {
    const res = runNblc(['--help'], {});
    for (const part of [/\bsync\b.*merge beacons/s, /\bcopies\b.*without overwriting/s, /\btests\b.*sandbox/s])
      assert.match(res.stdout, part);
    assert.match(res.stdout, /NBLC_REPO_URL and NBLC_REPO_FULL_NAME\s+are required/);
    const pkg = JSON.parse(await fs.readFile(path.join(import.meta.dirname, '..', 'package.json'), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const v = runNblc([flag], {});
      assert.equal(v.code, 0, v.stderr);
      assert.equal(v.stdout, `${pkg.version}\n`);
    }
  });

  test("each command loads only its own modules: a client command not the worker, user-token not even Temporal's client", () => {
    // NODE_DEBUG=module names every CommonJS file Node loads (the Temporal SDK's packages are).
    const loads = (args: string[]) => {
      const res = runNblc(args, { NODE_DEBUG: 'module' });
      assert.equal(res.code, 0, res.stderr.slice(-2000));
      return (pkg: string) => res.stderr.includes(`node_modules/@temporalio/${pkg}/`);
    };
    const all = loads(['--help']);
    assert.ok(all('worker') && all('client'), 'help loads every command (the control)');
    const copy = loads(['copy', '--help']);
    assert.ok(copy('client') && !copy('worker'));
    const start = loads(['start', '--help']);
    assert.ok(start('worker'));
    const token = loads(['user-token', '--help']);
    assert.ok(!token('client') && !token('worker'));
    assert.ok(!loads(['--version'])('client'));
    // A command not in main.ts's list still runs (everything loaded): here commander's own answer.
    const unknown = runNblc(['nosuch'], {});
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown command 'nosuch'/);
  });

  test("user-token prints the user's own token; without its secret or with a bad name, exit status 2", () => {
    const env = { NBLC_REPO_URL: '/nowhere', NBLC_REPO_FULL_NAME: 'a/b' };
    const secret = 'cli-user-token-secret-0123456789abcdef';
    const ok = runNblc(['user-token', 'ada'], { ...env, NBLC_USER_TOKEN_SECRET: secret });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), userToken(new Secret(secret), 'ada'));
    const off = runNblc(['user-token', 'ada'], env);
    assert.equal(off.code, 2);
    assert.match(off.stderr, /NBLC_USER_TOKEN_SECRET/);
    const bad = runNblc(['user-token', '../ada'], { ...env, NBLC_USER_TOKEN_SECRET: secret });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid user name/);
  });

  test('a missing setting is a clear error with exit status 2, before anything starts', () => {
    const res = runNblc(['sync'], { NBLC_REPO_FULL_NAME: 'a/b' });
    assert.equal(res.code, 2);
    // The setting, what it is and an example, not zod's "expected string, received undefined".
    assert.match(
      res.stderr,
      /NBLC_REPO_URL is not set: the git URL of the notebooks repository.*e\.g\. NBLC_REPO_URL=https:\/\//,
    );
    assert.doesNotMatch(res.stderr, /received undefined/);
    const api = runNblc(['api'], {
      NBLC_REPO_URL: '/nowhere',
      NBLC_REPO_FULL_NAME: 'a/b',
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    });
    assert.equal(api.code, 2);
    assert.match(api.stderr, /NBLC_WEBHOOK_SECRET: required to run the HTTP API/);
  });

  test('the worker needs no webhook secret (compose gives it none): it fails only on Temporal here', async () => {
    const worker = runNblc(['worker'], {
      NBLC_REPO_URL: '/nowhere',
      NBLC_REPO_FULL_NAME: 'a/b',
      NBLC_DATA_DIR: path.join(await tempDir(), 'data'),
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    });
    assert.equal(worker.code, 1, worker.stderr);
    assert.doesNotMatch(worker.stderr, /NBLC_WEBHOOK_SECRET|invalid configuration/);
    assert.match(worker.stderr, /connect/i);
  });

  test('start: embedded server, signed beacon, pull now, status, clean stop, history kept across restarts, no orphan after SIGKILL', async () => {
    const dir = await tempDir();
    const upstream = await createUpstream(path.join(dir, 'upstream'));
    const first = await upstream.commit({ 'Intro/Hello World.ipynb': '{"cells": []}' });
    const dataDir = path.join(dir, 'data');
    const [temporalPort, uiPort, httpPort] = [await freePort(), await freePort(), await freePort()];
    const env = {
      NBLC_REPO_URL: upstream.url,
      NBLC_REPO_FULL_NAME: TEST_REPO,
      NBLC_WEBHOOK_SECRET: TEST_SECRET,
      NBLC_DATA_DIR: dataDir,
      NBLC_TEMPORAL_PORT: String(temporalPort),
      NBLC_TEMPORAL_UI_PORT: String(uiPort),
      NBLC_PORT: String(httpPort),
      NBLC_TEST_ON_MERGE: 'false',
    };
    const cacheDir = path.join(dataDir, 'cache');
    const dbFile = path.join(dataDir, 'temporal.sqlite');

    const nblc = startNblc(['start'], env);
    try {
      const [, webhook] = await nblc.waitFor(/Webhook:\s+POST (\S+)/);
      assert.match(nblc.output(), new RegExp(`Temporal UI: http://localhost:${uiPort}`));
      assert.match(nblc.output(), /Schedule: +full test run "0 3 \* \* \*" UTC \(nblc-scheduled-tests, created\)/);
      assert.equal(processesMatching(dbFile).length, 1, 'one embedded Temporal server');

      const res = await sendPush(
        webhook!,
        TEST_SECRET,
        { repo: TEST_REPO, before: '0'.repeat(40), after: first },
        'cli-delivery-1',
      );
      assert.equal(res.status, 202, await res.clone().text());
      const accepted = (await res.json()) as { workflowId: string; temporalUiUrl: string };
      assert.equal(accepted.workflowId, `repo-sync:${TEST_REPO}`);
      await waitFor('first publish', async () => (await readCurrent(cacheDir)) === first);
      assert.equal((await fetch(`http://localhost:${uiPort}/`)).status, 200, 'the Temporal Web UI is served');

      const tip = await upstream.commit({ 'Intro/Second.ipynb': '{"cells": []}' });
      const sync = runNblc(['sync', '--wait', '--timeout', '60'], env);
      assert.equal(sync.code, 0, sync.stdout + sync.stderr);
      assert.match(sync.stdout, new RegExp(`synced: published ${tip}`));
      assert.equal(await readCurrent(cacheDir), tip);

      const status = runNblc(['status'], env);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, new RegExp(`published: ${tip}`));
      assert.match(status.stdout, /cli-delivery-1 .* synced/);
    } finally {
      nblc.child.kill('SIGTERM');
    }
    const stopped = await nblc.exited;
    assert.equal(stopped.code, 0, nblc.output());
    await waitFor('embedded server gone', async () => processesMatching(dbFile).length === 0, 15_000);

    // Restart on the same data directory: the SQLite history is still there.
    const again = startNblc(['start'], env);
    try {
      await again.waitFor(/nblc is running/);
      const status = runNblc(['status', '--json'], env);
      assert.equal(status.code, 0, status.stderr);
      const json = JSON.parse(status.stdout) as { recentDeliveries: Array<{ deliveryId: string }> };
      assert.ok(
        json.recentDeliveries.some((d) => d.deliveryId === 'cli-delivery-1'),
        'history survived the restart',
      );
    } finally {
      again.child.kill('SIGINT');
    }
    assert.equal((await again.exited).code, 0, again.output());
    await waitFor('embedded server gone', async () => processesMatching(dbFile).length === 0, 15_000);

    // Killed outright (no cleanup of ours runs): the embedded server still does not outlive nblc.
    const killed = startNblc(['start'], env);
    await killed.waitFor(/nblc is running/);
    assert.equal(processesMatching(dbFile).length, 1, 'one embedded Temporal server');
    killed.child.kill('SIGKILL');
    await killed.exited;
    await waitFor('embedded server gone after SIGKILL', async () => processesMatching(dbFile).length === 0, 15_000);
  });
});
