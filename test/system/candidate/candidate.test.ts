/**
 * Issue 19's test, through the real service: a Temporal dev server, the real workers (kernels in
 * the sandbox), the HTTP API and the `nblc` command as a child process. Two virtual environments
 * the test makes (test/helpers/dlstub.ts: a local wheel `dlstub` 1.0 and 2.0, where 2.0 renames
 * the function three of ten notebooks call and fixes the one 1.0 broke), each a kernelspec. A
 * scheduled-kind baseline on the current kernel, then a candidate run on the next: exit 1, exactly
 * those three newly failing with one cause, the one fixed, `dlstub 1.0 → 2.0` first in the
 * package diff, no history rows, no alert, status.json untouched. Against itself: an empty comparison and exit 0.
 *
 *   node --import tsx --test test/system/candidate/candidate.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { createApp } from '../../../src/api/app.js';
import { startTestRun } from '../../../src/clients/runs/client.js';
import { notebook } from '../../../src/demo/sample-repo.js';
import { workflowIdOfRun, type TestReport, type TestRunResult } from '../../../src/domain/runs/model.js';
import { createLogger } from '../../../src/platform/logger.js';
import { closeHistoryStores, historyStore } from '../../../src/storage/runs/history-store.js';
import { dlstubKernels } from '../../helpers/dlstub.js';
import { runSandbox } from '../../helpers/fixtures.js';
import { recordHistory, replayAll } from '../../helpers/histories.js';
import { nblcEnv, runNblcAsync } from '../../helpers/processes.js';
import { chatReceiver, githubStandIn, statusesOf } from '../../helpers/receivers.js';
import { loginCookie } from '../../helpers/dashboard.js';
import type { KnownKernel } from '../../../src/domain/runs/kernels.js';
import { publish, runResult, withWorkers } from '../../helpers/stack.js';
import { useTestEnv, workflowBundle } from '../../helpers/temporal.js';

const env = useTestEnv();
after(() => closeHistoryStores());
const TOKEN = 'operator-token-for-the-candidate-tests-0123456789';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

const LOADS = ['load/One.ipynb', 'load/Two.ipynb', 'load/Three.ipynb'];
const NOTEBOOKS: Record<string, string[]> = {
  ...Object.fromEntries(LOADS.map((p, i) => [p, [`import dlstub\nx = dlstub.load_data(${3 + i})\nprint(len(x))`]])),
  'Scale.ipynb': ['import dlstub\nassert dlstub.scale([1, 2], 2) == [2, 4]'],
  'Mean.ipynb': ['import dlstub\nassert dlstub.mean([1, 2, 3]) == 2'],
  'Mean2.ipynb': ['import dlstub\nprint(dlstub.mean([4, 6]))'],
  'Plain.ipynb': ['1 + 1'],
  'Version.ipynb': ['import dlstub\nprint(dlstub.__version__)'],
  'Sum.ipynb': ['print(sum(range(10)))'],
  'Always.ipynb': ['raise ValueError("broken everywhere")'],
};

const reportOf = async (r: TestRunResult) =>
  JSON.parse(await fs.readFile(path.join(r.reportDir, 'report.json'), 'utf8')) as TestReport;

describe('candidate runs (issue 19)', { timeout: 900_000 }, () => {
  test('a candidate kernel against the scheduled baseline: the verdict diff, the gate, nothing users see', async () => {
    const chat = await chatReceiver();
    const gh = await githubStandIn();
    const { config, upstream, dir } = await runSandbox('candidate', {
      NBLC_TEST_CONCURRENCY: '2',
      NBLC_ALERT_WEBHOOK_URL: `${chat.url}/hooks/secret`,
      NBLC_API_TOKEN: TOKEN,
      NBLC_GITHUB_TOKEN: 'ghp_test',
      NBLC_GITHUB_API_URL: gh.url,
      NBLC_PUBLIC_URL: 'https://nblc.example.org',
      NBLC_CANDIDATE_STATUS: 'true',
    });
    const kernels = await dlstubKernels(path.join(dir, 'kernels'));
    // The workers (and the executors they start) find both kernelspecs here.
    const cfg = { ...config, env: { ...config.env, JUPYTER_PATH: kernels.jupyterPath } };
    const sha = await upstream.commit(
      Object.fromEntries(Object.entries(NOTEBOOKS).map(([p, cells]) => [p, notebook(cells, kernels.current)])),
    );
    const cliEnv = nblcEnv(env.address, cfg);
    const app = createApp({ client: env.client, config: cfg, logger: createLogger('silent') });
    await withWorkers(env, cfg, async () => {
      await publish(env, cfg, sha);
      const baseline = await runResult(env, (await startTestRun(env.client, cfg, { kind: 'scheduled' })).runId);
      assert.deepEqual(
        baseline.failures.map((f) => f.path).sort(),
        ['Always.ipynb', 'Scale.ipynb'],
        'on dlstub 1.0 only the notebook 1.0 broke fails (and the one broken everywhere)',
      );
      const baseReport = await reportOf(baseline);
      assert.equal(baseReport.environment?.kernel, kernels.current);
      assert.equal(baseReport.environment?.packages.dlstub, '1.0');
      const store = await historyStore(cfg);
      const recordedBefore = await store.recordedRuns();
      assert.ok(recordedBefore.has(baseline.runId));
      const notebooksBefore = JSON.stringify(await store.notebooks());
      await new Promise((r) => setTimeout(r, 1000)); // any alert of the baseline has been sent
      const chatBefore = chat.requests.length;
      const statusesBefore = statusesOf(gh).length;
      // Users' status.json, written from the scheduled baseline (issue 18): candidates never touch it.
      const statusFile = path.join(cfg.cacheDir, 'status.json');
      const statusJson = await fs.readFile(statusFile, 'utf8');
      const statusStat = await fs.stat(statusFile);

      // The gate, as an operator wires it into a rollout.
      const gate = await runNblcAsync(
        ['test', '--kernel', kernels.next, '--compare-with', 'latest-scheduled', '--wait'],
        cliEnv,
        600_000,
      );
      assert.equal(gate.code, 1, gate.stdout + gate.stderr);
      const runId = /^test run (\S+)$/m.exec(gate.stdout)?.[1];
      assert.ok(runId, gate.stdout);
      assert.match(
        gate.stdout,
        new RegExp(
          `compared with scheduled run ${baseline.runId} \\(dl-current → dl-next\\)\\npackages:\\n {2}dlstub 1\\.0 → 2\\.0 {2}\\(named by 3 failures\\)\\n`,
        ),
      );
      assert.match(gate.stdout, /verdicts: 3 newly failing, 1 fixed, 6 same/);
      assert.match(
        gate.stdout,
        /newly failing, 3 notebooks: AttributeError: module 'dlstub' has no attribute 'load_data'\n {2}load\/One\.ipynb\n {2}load\/Three\.ipynb\n {2}load\/Two\.ipynb/,
      );
      assert.match(gate.stdout, /^fixed: Scale\.ipynb$/m);

      const candidate = await runResult(env, runId);
      assert.equal(candidate.kind, 'candidate');
      const report = await reportOf(candidate);
      const c = report.comparison!;
      assert.equal(c.baseline.runId, baseline.runId);
      assert.deepEqual(
        c.notebooks
          .filter((n) => n.verdict === 'newly failing')
          .map((n) => n.path)
          .sort(),
        [...LOADS].sort(),
      );
      assert.deepEqual(c.newlyFailing, [
        {
          cause: "AttributeError: module 'dlstub' has no attribute 'load_data'",
          notebooks: c.newlyFailing[0]!.notebooks,
        },
      ]);
      assert.deepEqual(c.newlyFailing[0]!.notebooks.slice().sort(), LOADS.slice().sort());
      assert.deepEqual(
        c.notebooks.filter((n) => n.verdict === 'fixed').map((n) => n.path),
        ['Scale.ipynb'],
      );
      assert.deepEqual(c.packages[0], { package: 'dlstub', from: '1.0', to: '2.0', named: 3 });
      assert.equal(report.environment?.kernel, kernels.next);
      // Every notebook ran on the other environment's Python, in the sandbox like any kernel.
      assert.ok(
        report.notebooks.every((nb) => nb.kernel === kernels.next && nb.sandbox === 'on'),
        JSON.stringify(report.notebooks.map((nb) => [nb.path, nb.kernel, nb.sandbox])),
      );
      const html = await fs.readFile(path.join(candidate.reportDir, 'report.html'), 'utf8');
      const main = html.slice(html.indexOf('<main>'));
      assert.match(main, /^<main>\s*<section class="changes comparison" id="comparison">/);
      assert.match(main, /<td>dlstub<\/td><td>1\.0<\/td><td>→<\/td><td>2\.0<\/td>/);
      await recordHistory(env, workflowIdOfRun(candidate.runId), 'test-run-candidate');

      // Against itself, over HTTP: an empty comparison.
      const res = await app.request('/runs', {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ kernel: kernels.current, compareWith: baseline.runId }),
      });
      assert.equal(res.status, 202, await res.clone().text());
      const self = await runResult(env, ((await res.json()) as { runId: string }).runId);
      const selfReport = await reportOf(self);
      assert.deepEqual(selfReport.comparison?.packages, []);
      assert.equal(selfReport.comparison?.counts.same, 10);
      assert.deepEqual(selfReport.comparison?.newlyFailing, []);
      // ...and with the CLI: exit 0.
      const again = await runNblcAsync(
        ['test', '--kernel', kernels.current, '--compare-with', baseline.runId, '--wait'],
        cliEnv,
        600_000,
      );
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /packages: no change\nverdicts: 10 same/);
      const allowed = await runNblcAsync(
        ['test', '--kernel', kernels.next, '--compare-with', baseline.runId, '--allow-new-failures', '3', '--wait'],
        cliEnv,
        600_000,
      );
      assert.equal(allowed.code, 0, allowed.stdout + allowed.stderr);

      // The kernels nblc knows: this host's kernelspecs (as a worker records them on start) and
      // what the runs measured in them.
      const listed = await runNblcAsync(['kernels', '--refresh'], { ...cliEnv, JUPYTER_PATH: kernels.jupyterPath });
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(
        listed.stdout,
        /^dl-next {2}"dlstub 2\.0" \(python\)\n {2}workers: .+\n {2}Python [0-9.]+, \d+ packages, fingerprint [0-9a-f]{16}, measured /m,
      );
      const json = JSON.parse((await runNblcAsync(['kernels', '--json'], cliEnv)).stdout) as { kernels: KnownKernel[] };
      assert.equal(json.kernels.find((k) => k.name === kernels.next)?.environment?.packages.dlstub, '2.0');
      assert.equal(json.kernels.find((k) => k.name === kernels.current)?.environment?.packages.dlstub, '1.0');

      // Nothing users see: no history rows, no per-notebook summary changed, no alert.
      assert.deepEqual(await store.recordedRuns(), recordedBefore);
      assert.equal(JSON.stringify(await store.notebooks()), notebooksBefore);
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(chat.requests.length, chatBefore, JSON.stringify(chat.requests.slice(chatBefore)));
      assert.equal(await fs.readFile(statusFile, 'utf8'), statusJson);
      assert.equal((await fs.stat(statusFile)).mtimeMs, statusStat.mtimeMs, 'status.json was not rewritten');
      // The gate's own commit status, and never the users' nblc/notebooks.
      const after = statusesOf(gh).slice(statusesBefore);
      assert.deepEqual(
        after.map((s) => [s.context, s.sha, s.state]),
        [
          ['nblc/candidate', sha, 'failure'],
          ['nblc/candidate', sha, 'success'],
          ['nblc/candidate', sha, 'success'],
          ['nblc/candidate', sha, 'success'],
        ],
      );
      assert.match(after[0]!.description, /^3 notebooks newly failing, 1 fixed on dl-next against scheduled-/);
      assert.match(after[3]!.description, /\(3 allowed\)$/);
      // The dashboard: the latest candidate run per kernel beside the scheduled one.
      const cookie = await loginCookie(app, TOKEN);
      const overview = await (await app.request('/', { headers: { cookie } })).text();
      const cards = overview.slice(overview.indexOf('<div class="cards">'));
      assert.match(
        cards,
        /<h3>scheduled<\/h3>[^]*<h3>candidate <code>dl-current<\/code><\/h3>[^]*✓ nothing newly failing/,
      );
      assert.match(
        cards,
        /<h3>candidate <code>dl-next<\/code><\/h3>\s*<div class="verdict">✗ 3 notebooks newly failing, 1 fixed of 10/,
      );
      // A bad request says what to do.
      const bad = await runNblcAsync(['test', '--kernel', kernels.next], cliEnv);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /a candidate run needs --compare-with RUN/);
    });
  });

  test('histories (fixtures and this run) replay against the current workflow code', async () => {
    assert.ok((await replayAll(await workflowBundle())) >= 1);
  });
});
