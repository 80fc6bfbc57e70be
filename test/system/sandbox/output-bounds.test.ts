/**
 * Output is bounded outside the notebook's memory limit (issue 21, item 5), through a real
 * Temporal server and workers: a notebook printing 300 MiB under a 1 GiB memory limit ends, its
 * executed notebook stays under NBLC_NOTEBOOK_OUTPUT_LIMIT with a note, and its result, report.json
 * and report.html say `outputTruncated`; an exception whose name is many lines long (and would
 * mention a whole chat channel) is one line of at most 200 characters in the report.
 *   node --import tsx --test test/system/sandbox/output-bounds.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { startTestRun } from '../../../src/clients/runs/client.js';
import type { TestReport } from '../../../src/domain/runs/model.js';
import { notebook } from '../../../src/demo/sample-repo.js';
import { runSandbox } from '../../helpers/fixtures.js';
import { pathStatuses, publish, runResult, withWorkers } from '../../helpers/stack.js';
import { useTestEnv } from '../../helpers/temporal.js';

const env = useTestEnv();
const LIMIT = 16 << 20;

describe('bounded output', { timeout: 300_000 }, () => {
  test('a 300 MiB printer under a 1 GiB limit: the run finishes, the executed notebook is cut with a note', async () => {
    const { config, upstream } = await runSandbox('output', {
      NBLC_NOTEBOOK_MEMORY: '1G',
      NBLC_NOTEBOOK_OUTPUT_LIMIT: '16M',
      NBLC_TEST_CONCURRENCY: '2',
    });
    const sha = await upstream.commit({
      'flood/Printer.ipynb': notebook([
        "for i in range(300):\n    print('x' * (1 << 20), flush=True)",
        "print('done')",
      ]),
      'flood/Name.ipynb': notebook([
        "class Shout(Exception):\n    pass\nShout.__name__ = '@channel <!here>\\n' * 50\nraise Shout('v' * 100_000)",
      ]),
      'flood/Quiet.ipynb': notebook(["print('a line')"]),
    });
    const { r, report, html } = await withWorkers(env, config, async () => {
      await publish(env, config, sha);
      const started = await startTestRun(env.client, config, { kind: 'manual' });
      const r = await runResult(env, started.runId, 240_000);
      const read = (f: string) => fs.readFile(path.join(r.reportDir, f), 'utf8');
      return { r, report: JSON.parse(await read('report.json')) as TestReport, html: await read('report.html') };
    });
    assert.deepEqual(pathStatuses(r), [
      ['flood/Name.ipynb', 'failed'],
      ['flood/Printer.ipynb', 'passed'],
      ['flood/Quiet.ipynb', 'passed'],
    ]);
    const byPath = new Map(report.notebooks.map((nb) => [nb.path, nb]));
    const printer = byPath.get('flood/Printer.ipynb')!;
    assert.equal(printer.outputTruncated, true);
    assert.equal(byPath.get('flood/Quiet.ipynb')!.outputTruncated, undefined);
    const executed = await fs.readFile(path.join(r.reportDir, printer.artifact), 'utf8');
    assert.ok(executed.length < LIMIT + (1 << 20), `the executed notebook has ${executed.length} bytes`);
    assert.match(executed, /output truncated: this notebook's outputs exceed NBLC_NOTEBOOK_OUTPUT_LIMIT \(16 MiB/);
    const cells = (JSON.parse(executed) as { cells: Array<{ outputs: Array<{ text?: string }> }> }).cells;
    const later = cells[1]!.outputs.map((o) => o.text ?? '').join('');
    assert.match(later, /output truncated/, 'the next cell ran; its output is past the limit, and says so');
    assert.match(html, /output truncated<\/span>/);

    const error = byPath.get('flood/Name.ipynb')!.error!;
    assert.ok(!error.ename.includes('\n') && error.ename.length <= 200, error.ename);
    assert.ok(error.evalue.length < 20_000, `evalue of ${error.evalue.length} characters`);
  });
});
