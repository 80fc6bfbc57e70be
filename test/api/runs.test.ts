/**
 * Operator routes for test runs: token, validation, start, progress/result, report files.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createApp } from '../../src/api/app.js';
import { REPORT_LINK_TTL_S, reportLink } from '../../src/platform/runs/report-links.js';
import { createLogger } from '../../src/platform/logger.js';
import { notebook } from '../../src/demo/sample-repo.js';
import { ownQueues, sandbox, waitFor } from '../helpers/fixtures.js';
import { publish, withWorkers } from '../helpers/stack.js';
import { useTestEnv } from '../helpers/temporal.js';

const env = useTestEnv();

const TOKEN = 'operator-token-for-the-run-tests-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

describe('/runs', () => {
  test('needs the operator token, and is off without one', async () => {
    const { config } = await sandbox({ NBLC_API_TOKEN: TOKEN });
    const app = createApp({ client: env.client, config, logger: createLogger('silent') });
    assert.equal((await app.request('/runs', { method: 'POST' })).status, 401);
    assert.equal((await app.request('/runs', { headers: { authorization: 'Bearer wrong' } })).status, 401);
    const off = createApp({
      client: env.client,
      config: { ...config, apiToken: undefined },
      logger: createLogger('silent'),
    });
    const res = await off.request('/runs', { headers: auth });
    assert.equal(res.status, 503);
    assert.match(((await res.json()) as { error: string }).error, /NBLC_API_TOKEN/);
  });

  test('rejects a malformed request with the problems listed', async () => {
    const { config } = await sandbox({ NBLC_API_TOKEN: TOKEN });
    const app = createApp({ client: env.client, config, logger: createLogger('silent') });
    const res = await app.request('/runs', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ concurrency: 0, commit: 'abc', surprise: true }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { problems: string[] };
    assert.ok(body.problems.some((p) => p.startsWith('concurrency')));
    assert.ok(body.problems.some((p) => p.startsWith('commit')));
    assert.ok(body.problems.some((p) => /surprise|unrecognized/i.test(p)));
    assert.equal((await app.request('/runs/..%2F..%2Fetc', { headers: auth })).status, 400);
    // One run-directory rule on every route: only dots, hidden or too long is malformed, not "no such run".
    for (const id of ['...', '.hidden', 'x'.repeat(201)]) {
      assert.equal((await app.request(`/runs/${id}`, { headers: auth })).status, 400, id);
      assert.equal((await app.request(`/runs/${id}/report.html`, { headers: auth })).status, 400, id);
    }
  });

  test('a body that is not JSON (it used to start a run of everything), or too large, is 400 / 413', async () => {
    const { config } = await sandbox({ NBLC_API_TOKEN: TOKEN });
    const app = createApp({ client: env.client, config, logger: createLogger('silent') });
    const post = (body: string) => app.request('/runs', { method: 'POST', headers: auth, body });
    const garbage = await post('include=*.ipynb');
    assert.equal(garbage.status, 400);
    assert.match(((await garbage.json()) as { error: string }).error, /must be JSON/);
    const huge = await post(JSON.stringify({ include: ['x'.repeat(100 * 1024)] }));
    assert.equal(huge.status, 413);
  });

  test('POST starts a run; GET shows its result and serves its report and executed notebooks', async () => {
    const { config, upstream } = await sandbox({ ...ownQueues('api-runs'), NBLC_API_TOKEN: TOKEN });
    const sha = await upstream.commit({
      'Deep Dir/Été ok.ipynb': notebook(['print("ok")']),
      'Fails.ipynb': notebook(['1/0']),
    });
    const app = createApp({ client: env.client, config, logger: createLogger('silent') });
    await withWorkers(env, config, async () => {
      await publish(env, config, sha);
      const res = await app.request('/runs', {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ include: ['**/*.ipynb'] }),
      });
      assert.equal(res.status, 202);
      const started = (await res.json()) as { runId: string; workflowId: string; temporalUiUrl: string };
      assert.match(started.temporalUiUrl, /test-run/);
      const done = await waitFor(
        'run finished',
        async () => {
          const r = await app.request(`/runs/${started.runId}`, { headers: auth });
          const body = (await r.json()) as { result?: { counts: { total: number; passed: number } } };
          return body.result;
        },
        120_000,
      );
      assert.equal(done.counts.total, 2);
      assert.equal(done.counts.passed, 1);

      const html = await app.request(`/runs/${started.runId}/report.html`, { headers: auth });
      assert.equal(html.status, 200);
      assert.match(html.headers.get('content-type') ?? '', /text\/html/);
      assert.match(await html.text(), /ZeroDivisionError/);
      const executed = await app.request(`/runs/${started.runId}/executed/Deep%20Dir/%C3%89t%C3%A9%20ok.ipynb`, {
        headers: auth,
      });
      assert.equal(executed.status, 200);
      assert.match(await executed.text(), /"ok\\n"/);
      assert.equal((await app.request(`/runs/${started.runId}/report.html`)).status, 401, 'reports need the token too');
      assert.equal((await app.request(`/runs/${started.runId}/nothing.html`, { headers: auth })).status, 404);

      // A signed link opens the report and what it links to in a browser, without the token.
      const detail = (await (await app.request(`/runs/${started.runId}`, { headers: auth })).json()) as {
        reportLink: string;
      };
      assert.match(detail.reportLink, new RegExp(`^/runs/${started.runId}/~\\d+\\.[\\w-]{43}/report\\.html$`));
      const linked = await app.request(detail.reportLink);
      assert.equal(linked.status, 200);
      assert.match(await linked.text(), /ZeroDivisionError/);
      const base = detail.reportLink.replace(/report\.html$/, '');
      assert.equal((await app.request(`${base}executed/Fails.ipynb`)).status, 200, 'relative links keep the grant');
      const grant = detail.reportLink.split('/')[3]!;
      const tampered = grant.slice(0, -1) + (grant.endsWith('A') ? 'B' : 'A');
      assert.equal((await app.request(`/runs/${started.runId}/${tampered}/report.html`)).status, 401);
      assert.equal((await app.request(`/runs/other-run/${grant}/report.html`)).status, 401, 'a link opens one run');
      const expired = await app.request(
        reportLink(config.apiToken!, started.runId, Date.now() - 2 * REPORT_LINK_TTL_S * 1000),
      );
      assert.equal(expired.status, 401);
      assert.match(((await expired.json()) as { error: string }).error, /expired/);
      await fs.writeFile(path.join(config.resultsDir, 'outside.txt'), 'not in the run');
      for (const escape of ['..%2Foutside.txt', '%2e%2e/outside.txt', '..%5Coutside.txt']) {
        const res = await app.request(`${base}${escape}`);
        assert.notEqual(res.status, 200, escape);
      }

      await waitFor('listed (visibility is eventually consistent)', async () => {
        const l = (await (await app.request('/runs', { headers: auth })).json()) as { runs: Array<{ runId: string }> };
        return l.runs.some((r) => r.runId === started.runId);
      });
      assert.equal((await app.request('/runs/no-such-run', { headers: auth })).status, 404);
    });
  });
});
