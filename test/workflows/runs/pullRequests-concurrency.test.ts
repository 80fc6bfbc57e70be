/**
 * Pull-request runs never starve merge runs (issue 21): with more pull-request notebooks waiting
 * than NBLC_PR_CONCURRENCY, a merge run still starts and finishes, and never more than the cap of
 * pull-request notebooks run at once. Real Temporal server and workers, real kernels, signed
 * webhooks; the notebooks report to a gate on loopback that holds them until the test opens it,
 * so what is observed is the notebooks' own reports, not durations.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { createApp } from '../../../src/api/app.js';
import { notebook } from '../../../src/demo/sample-repo.js';
import { closeHistoryStores } from '../../../src/storage/runs/history-store.js';
import { createLogger } from '../../../src/platform/logger.js';
import { getRun } from '../../../src/clients/runs/client.js';
import { sandbox, waitFor } from '../../helpers/fixtures.js';
import { githubStandIn } from '../../helpers/receivers.js';
import { pathStatuses, publish, runResult, withWorkers } from '../../helpers/stack.js';
import { useTestEnv } from '../../helpers/temporal.js';
import { deliverWebhook } from '../../helpers/webhooks.js';
import { prEvent, pushPr } from '../../helpers/pull-requests.js';

const env = useTestEnv();
after(() => closeHistoryStores());

/**
 * The gate: a notebook calls /start, then /wait, which is answered once the gate opens, then
 * /end. The gate counts the notebooks between their /start and /end.
 */
async function gate() {
  const g = { running: 0, most: 0, started: 0, ended: 0, open: false, held: [] as http.ServerResponse[] };
  const server = http.createServer((req, res) => {
    const what = new URL(req.url ?? '/', 'http://gate').pathname;
    if (what === '/start') {
      g.started++;
      g.most = Math.max(g.most, ++g.running);
    } else if (what === '/end') {
      g.ended++;
      g.running--;
    } else if (what === '/wait' && !g.open) {
      g.held.push(res);
      return;
    }
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const release = () => {
    g.open = true;
    for (const res of g.held.splice(0)) res.end('ok');
  };
  const close = () => {
    release();
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { g, url, release, close };
}

const gated = (url: string) =>
  notebook([
    [
      'import urllib.request',
      `for step in ('start', 'wait', 'end'):`,
      `    urllib.request.urlopen('${url}/' + step, timeout=600).read()`,
    ].join('\n'),
  ]);

const PASS = notebook(['print("ok")']);

describe('pull-request concurrency', () => {
  test('six waiting PR notebooks under a cap of 2: a merge run still finishes, never more than 2 PR notebooks at once', async (t) => {
    const gh = await githubStandIn();
    const g = await gate();
    t.after(() => g.close());
    const id = randomUUID().slice(0, 8);
    const { config, upstream } = await sandbox({
      NBLC_REPO_FULL_NAME: `test/prc-${id}`,
      NBLC_TASK_QUEUE: `prc-${id}`,
      NBLC_NOTEBOOK_TASK_QUEUE: `prc-nb-${id}`,
      NBLC_TEST_CONCURRENCY: '3', // NBLC_PR_CONCURRENCY: its default, 2
      NBLC_TEST_ON_MERGE: 'true',
      NBLC_KERNEL_NETWORK: 'host', // the gate listens on the host's loopback
      NBLC_GITHUB_TOKEN: 'ghp_test',
      NBLC_GITHUB_API_URL: gh.url,
      TEMPORAL_NAMESPACE: env.namespace ?? 'default',
    });
    assert.equal(config.github.prConcurrency, 2);
    const app = createApp({ client: env.client, config, logger: createLogger('silent') });
    const first = await upstream.commit({ 'm/First.ipynb': PASS });
    await withWorkers(env, config, async () => {
      await publish(env, config, first);
      const prs: string[] = [];
      for (const n of [31, 32, 33]) {
        const head = await pushPr(upstream, n, { [`p/G${n}a.ipynb`]: gated(g.url), [`p/G${n}b.ipynb`]: gated(g.url) });
        const res = await deliverWebhook(app, prEvent(config.repo.fullName, n, 'opened', head), {
          event: 'pull_request',
        });
        assert.equal(res.status, 202);
        prs.push(`pr-${n}-${head.slice(0, 12)}`);
      }
      await waitFor('two PR notebooks at the gate', async () => g.g.started === 2);

      // A merge while six PR notebooks are held or queued.
      const merged = await upstream.commit({ 'm/Merged.ipynb': PASS });
      await publish(env, config, merged);
      const m = await runResult(env, `merge-${merged.slice(0, 12)}`);
      assert.deepEqual(pathStatuses(m), [['m/Merged.ipynb', 'passed']]);
      assert.equal(g.g.started, 2, 'no PR notebook started beyond the cap meanwhile');
      assert.equal(g.g.ended, 0, 'the merge run finished while the PR notebooks were still held');
      for (const pr of prs) assert.equal((await getRun(env.client, pr))?.status, 'RUNNING', pr);

      g.release();
      for (const pr of prs) {
        const r = await runResult(env, pr);
        assert.equal(r.counts.passed, 2, `${pr}: ${JSON.stringify(pathStatuses(r))}`);
      }
      assert.equal(g.g.started, 6);
      assert.equal(g.g.ended, 6);
      assert.equal(g.g.most, 2, 'at most NBLC_PR_CONCURRENCY PR notebooks at once, and the cap was reached');
    });
  });
});
