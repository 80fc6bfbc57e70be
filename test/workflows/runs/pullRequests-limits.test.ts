/**
 * Pull-request runs run with less, end to end (signed deliveries, a real Temporal server and
 * workers, real kernels, a GitHub stand-in): no prerun cell and no NBLC_KERNEL_ENV for a PR's
 * notebooks (a manual run of the same notebook on the branch gets both), and a PR's tree over
 * NBLC_PR_MAX_FILES or NBLC_PR_MAX_BYTES is refused with a commit status that says why, before
 * any of it is exported.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { prSnapshotsDir } from '../../../src/activities/runs/pull-requests.js';
import { createApp } from '../../../src/api/app.js';
import { startTestRun } from '../../../src/clients/runs/client.js';
import { notebook } from '../../../src/demo/sample-repo.js';
import { closeHistoryStores } from '../../../src/storage/runs/history-store.js';
import { waitFor } from '../../helpers/fixtures.js';
import { statusesOf } from '../../helpers/receivers.js';
import { pathStatuses, publish, runResult, withWorkers } from '../../helpers/stack.js';
import { useTestEnv } from '../../helpers/temporal.js';
import { deliverWebhook } from '../../helpers/webhooks.js';
import { prEvent, prService, pushPr } from '../../helpers/pull-requests.js';

const env = useTestEnv();
after(() => closeHistoryStores());

/** Passes only where neither the prerun cell nor NBLC_KERNEL_ENV reached the kernel. */
const UNTRUSTED = notebook([
  'import os\nassert "PR_MARK" not in os.environ, "NBLC_KERNEL_ENV reached the kernel"',
  'assert "PRERUN_MARK" not in globals(), "the prerun cell ran"',
]);

const setup = (extra: Record<string, string>) => prService(env, 'prl', extra);

async function openPr(app: ReturnType<typeof createApp>, repo: string, n: number, head: string) {
  const res = await deliverWebhook(app, prEvent(repo, n, 'opened', head), { event: 'pull_request' });
  assert.equal(res.status, 202, await res.text());
  return runResult(env, `pr-${n}-${head.slice(0, 12)}`);
}

describe('pull-request runs run with less', () => {
  test('no prerun cell and no NBLC_KERNEL_ENV in a PR run; a trusted run of the same notebook gets both', async () => {
    const prerunDir = await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-prerun-'));
    const prerun = path.join(prerunDir, 'prerun.py');
    await fs.writeFile(prerun, 'PRERUN_MARK = 1\n');
    const { config, upstream, app } = await setup({
      NBLC_PRERUN_FILE: prerun,
      NBLC_KERNEL_ENV: 'PR_MARK',
      PR_MARK: 'from the worker',
    });
    const main = await upstream.commit({ 'README.md': '# with a notebook soon\n' });
    await withWorkers(env, config, async () => {
      await publish(env, config, main);
      const head = await pushPr(upstream, 3, { 'check.ipynb': UNTRUSTED });
      const pr = await openPr(app, config.repo.fullName, 3, head);
      assert.deepEqual(pathStatuses(pr), [['check.ipynb', 'passed']], 'the PR run got neither');

      const merged = await upstream.commit({ 'check.ipynb': UNTRUSTED });
      await publish(env, config, merged);
      const started = await startTestRun(env.client, config, { kind: 'manual' });
      const trusted = await runResult(env, started.runId);
      assert.deepEqual(pathStatuses(trusted), [['check.ipynb', 'failed']], 'a trusted run gets the prerun and env');
    });
    await fs.rm(prerunDir, { recursive: true, force: true });
  });

  test('a PR over NBLC_PR_MAX_FILES or NBLC_PR_MAX_BYTES is refused with a status saying why', async () => {
    const { config, upstream, gh, app } = await setup({ NBLC_PR_MAX_FILES: '4', NBLC_PR_MAX_BYTES: '3000' });
    const main = await upstream.commit({ 'ok.ipynb': notebook(['print(1)']) });
    await withWorkers(env, config, async () => {
      await publish(env, config, main);
      const many = await pushPr(
        upstream,
        5,
        Object.fromEntries([1, 2, 3, 4].map((i) => [`n${i}.ipynb`, notebook([`print(${i})`])])),
      );
      const r1 = await openPr(app, config.repo.fullName, 5, many);
      assert.equal(r1.counts.total, 0, 'nothing ran');
      const big = await pushPr(upstream, 6, { 'big.ipynb': notebook([`x = "${'a'.repeat(4000)}"`]) });
      const r2 = await openPr(app, config.repo.fullName, 6, big);
      assert.equal(r2.counts.total, 0, 'nothing ran');
      const final = (sha: string) =>
        waitFor('final status', async () =>
          statusesOf(gh)
            .filter((s) => s.sha === sha && s.state !== 'pending')
            .at(-1),
        );
      const s1 = await final(many);
      assert.equal(s1.state, 'error');
      assert.match(s1.description!, /over 4 files \(NBLC_PR_MAX_FILES\)/);
      const s2 = await final(big);
      assert.equal(s2.state, 'error');
      assert.match(s2.description!, /exceed 3000 bytes \(NBLC_PR_MAX_BYTES\)/);
      const snaps = await fs.readdir(prSnapshotsDir(config.cacheDir)).catch(() => []);
      assert.deepEqual(snaps, [], 'no PR snapshot was exported');
    });
  });
});
