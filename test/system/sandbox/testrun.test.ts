/**
 * The sandbox end to end: test runs through a real Temporal server and workers (the activity's
 * own executor start-up), with the worker's secrets in its config and environment: secrets and
 * the service's files out of reach, git config unchanged, no daemon outliving the run, the memory
 * hog out_of_memory while the other notebooks pass.
 *   node --import tsx --test test/system/sandbox/testrun.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { startTestRun } from '../../../src/clients/runs/client.js';
import type { TestReport } from '../../../src/domain/runs/model.js';
import { notebook } from '../../../src/demo/sample-repo.js';
import { runSandbox, TEST_SECRET } from '../../helpers/fixtures.js';
import { pathStatuses, publish, runResult, withWorkers } from '../../helpers/stack.js';
import { useTestEnv } from '../../helpers/temporal.js';
import { pidsMarked } from './host-processes.js';

const env = useTestEnv();
const MARKER = `nblctr${process.pid}`;

async function testRun(extra: Record<string, string>, files: (dataDir: string) => Record<string, string>) {
  const { config, upstream } = await runSandbox('sandbox', { NBLC_TEST_CONCURRENCY: '2', ...extra });
  const sha = await upstream.commit(files(config.dataDir));
  return withWorkers(env, config, async () => {
    await publish(env, config, sha);
    const started = await startTestRun(env.client, config, { kind: 'manual' });
    const r = await runResult(env, started.runId);
    const read = (f: string) => fs.readFile(path.join(r.reportDir, f), 'utf8');
    const report = JSON.parse(await read('report.json')) as TestReport;
    return { r, report, html: await read('report.html'), junit: await read('junit.xml'), dataDir: config.dataDir };
  });
}

describe('sandboxed test runs', { timeout: 300_000 }, () => {
  test('notebooks run sandboxed, measured; a memory hog is out_of_memory; the report shows both', async () => {
    const { r, report, html, junit, dataDir } = await testRun({ NBLC_NOTEBOOK_MEMORY: '256M' }, (dataDir) => ({
      'data/stars.csv': 'ra,dec\n1,2\n',
      'analysis/Stars.ipynb': notebook([
        "rows = open('../data/stars.csv').read().splitlines()\nopen('out.csv', 'w').write(rows[1])\nassert open('out.csv').read() == '1,2'",
      ]),
      // passes only if the service's secrets and data are out of reach
      'analysis/Escape.ipynb': notebook([
        "import os\nassert not [k for k in os.environ if k.startswith(('NBLC_', 'TEMPORAL_'))], 'secrets in os.environ'\nassert b'NBLC_' not in open('/proc/self/environ', 'rb').read()",
        `import os\nfor p in ['${dataDir}/repo.git/config', '${dataDir}/results']:\n    assert not os.path.exists(p), p\nassert os.getuid() != 0`,
      ]),
      'hog/Hog.ipynb': notebook(["x = b'1' * (1 << 30)"]),
      // a daemon that should not outlive the run, and the git-config attack of the issue
      'analysis/Daemon.ipynb': notebook([
        `import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', '${MARKER}'], start_new_session=True)`,
        `try:\n    open('${dataDir}/repo.git/config', 'a').write('[core]\\n\\tfsmonitor = touch /tmp/${MARKER}\\n')\nexcept OSError:\n    pass`,
      ]),
    }));
    assert.deepEqual(pathStatuses(r), [
      ['analysis/Daemon.ipynb', 'passed'],
      ['analysis/Escape.ipynb', 'passed'],
      ['analysis/Stars.ipynb', 'passed'],
      ['hog/Hog.ipynb', 'out_of_memory'],
    ]);
    assert.equal(r.counts.out_of_memory, 1);
    assert.deepEqual(pidsMarked(MARKER), [], 'nothing a notebook started outlives the run');
    assert.doesNotMatch(await fs.readFile(path.join(dataDir, 'repo.git', 'config'), 'utf8'), /fsmonitor/);
    for (const nb of report.notebooks) {
      assert.equal(nb.sandbox, 'on', nb.path);
      assert.match(nb.limits ?? '', /^cgroup[12]$/, nb.path);
      assert.ok(nb.peakMemoryBytes! > 0 && nb.cpuSeconds! > 0, nb.path);
    }
    assert.equal(report.unsandboxed, undefined);
    assert.match(html, /st-out_of_memory[^<]*>out of memory</);
    assert.match(html, /<th class="num">Peak memory<\/th>/);
    assert.doesNotMatch(html, /id="unsandboxed"/);
    assert.match(junit, /<error message="out of memory: [^"]*" type="out_of_memory">/);
    assert.match(junit, /<testsuite[^>]* errors="1"/);
    for (const text of [JSON.stringify(report), html, junit]) assert.ok(!text.includes(TEST_SECRET));
  });

  test('NBLC_SANDBOX=off: the run is marked unsandboxed in report.json, report.html and junit.xml', async () => {
    const { report, html, junit } = await testRun({ NBLC_SANDBOX: 'off' }, () => ({
      'x/One.ipynb': notebook(['1']),
      'x/Two.ipynb': notebook(['2']),
    }));
    assert.equal(report.unsandboxed, 2);
    assert.deepEqual(
      report.notebooks.map((n) => [n.sandbox, n.limits]),
      [
        ['off', 'none'],
        ['off', 'none'],
      ],
    );
    assert.match(html, /id="unsandboxed">⚠ This run was executed unsandboxed \(NBLC_SANDBOX=off\)/);
    assert.match(junit, /<property name="unsandboxed" value="2"\/>/);
  });
});
