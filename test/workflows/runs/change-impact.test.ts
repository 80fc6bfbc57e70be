/**
 * Selection by what a merge touches, through the real service: a Temporal dev server, workers,
 * a real upstream git repository, real kernels, and a GitHub API stand-in on loopback that
 * records the commit statuses.
 *   node --import tsx --test test/workflows/runs/change-impact.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { notebook } from '../../../src/demo/sample-repo.js';
import { getRun } from '../../../src/clients/runs/client.js';
import { closeHistoryStores } from '../../../src/storage/runs/history-store.js';
import type { TestReport } from '../../../src/domain/runs/model.js';
import { runSandbox } from '../../helpers/fixtures.js';
import { githubStandIn, statusesAt } from '../../helpers/receivers.js';
import { publish, runResult, withWorkers } from '../../helpers/stack.js';
import { useTestEnv } from '../../helpers/temporal.js';

const env = useTestEnv();
after(() => closeHistoryStores());

const IMPORTER = notebook(['import helper\nprint(helper.VALUE)']);
const BESIDE = notebook(['print("beside the helper")']);
// Another folder's notebook that reaches the helper through sys.path (resolved statically).
const FAR_IMPORTER = notebook([
  "import sys\nsys.path.append('../x')\ntry:\n    import helper\nexcept ImportError:\n    pass",
]);
const ELSEWHERE = notebook(['print("unrelated")']);
// Imports a module of its own folder that imports the helper: selected through it.
const INDIRECT = notebook(['import wrap\nprint(wrap.value())']);
const WRAP = "import sys\nsys.path.append('../x')\nimport helper\n\ndef value():\n    return helper.VALUE\n";

describe('merge runs select what the change touches', () => {
  test('a helper selects its importers (also through other modules) and its folder; a data folder the folder above; README selects nothing (status says so); requirements everything', async () => {
    const gh = await githubStandIn();
    const { config, upstream, dir } = await runSandbox('impact', {
      NBLC_TEST_ON_MERGE: 'true',
      NBLC_GITHUB_TOKEN: 'ghp_test',
      NBLC_GITHUB_API_URL: gh.url,
      NBLC_PUBLIC_URL: 'https://nblc.example.org',
    });
    const merge = async (files: Record<string, string>) => {
      const sha = await upstream.commit(files);
      await publish(env, config, sha);
      return { sha, run: await runResult(env, `merge-${sha.slice(0, 12)}`) };
    };
    const why = (run: { notebooks: Array<{ path: string; selectedBecause?: string[] }> }) =>
      Object.fromEntries(run.notebooks.map((n) => [n.path, n.selectedBecause]));
    await withWorkers(env, config, async () => {
      const { run: first } = await merge({
        'x/One.ipynb': IMPORTER,
        'x/Two.ipynb': BESIDE,
        'x/helper.py': 'VALUE = 1\n',
        'y/Three.ipynb': FAR_IMPORTER,
        'z/Four.ipynb': ELSEWHERE,
        'x/sub/Deep.ipynb': BESIDE,
        'w/Indirect.ipynb': INDIRECT,
        'w/wrap.py': WRAP,
        'requirements.txt': 'numpy\n',
      });
      assert.equal(first.counts.total, 6, 'the first publish tests the whole suite');

      const { sha: helperSha, run: helper } = await merge({ 'x/helper.py': 'VALUE = 2\n' });
      assert.deepEqual(why(helper), {
        'w/Indirect.ipynb': ['imports x/helper.py (through w/wrap.py)'],
        'x/One.ipynb': ['imports x/helper.py', 'same folder as x/helper.py'],
        'x/Two.ipynb': ['same folder as x/helper.py'],
        'x/sub/Deep.ipynb': ['same folder as x/helper.py'],
        'y/Three.ipynb': ['imports x/helper.py'],
      });
      assert.equal(helper.counts.passed, 5);
      // GET /runs/:id returns this state; the report says it too.
      const state = await getRun(env.client, helper.runId);
      assert.deepEqual(state?.result?.notebooks.find((n) => n.path === 'y/Three.ipynb')?.selectedBecause, [
        'imports x/helper.py',
      ]);
      const report = JSON.parse(
        await fs.readFile(path.join(config.resultsDir, helper.runId, 'report.json'), 'utf8'),
      ) as TestReport;
      assert.deepEqual(report.notebooks.find((n) => n.path === 'x/Two.ipynb')?.selectedBecause, [
        'same folder as x/helper.py',
      ]);
      const html = await fs.readFile(path.join(config.resultsDir, helper.runId, 'report.html'), 'utf8');
      assert.match(html, /selected: imports x\/helper\.py; same folder as x\/helper\.py/);
      assert.deepEqual(statusesAt(gh, helperSha).at(-1), ['success', 'all 5 notebooks passed']);

      // A data file in a folder without notebooks: the folder above (and its sub-folders) read it.
      const { run: data } = await merge({ 'x/data/table.csv': 'a,b\n1,2\n' });
      assert.deepEqual(why(data), {
        'x/One.ipynb': ['same folder as x/data/table.csv'],
        'x/Two.ipynb': ['same folder as x/data/table.csv'],
        'x/sub/Deep.ipynb': ['same folder as x/data/table.csv'],
      });

      const { sha: readmeSha, run: readme } = await merge({ 'README.md': '# notebooks, better explained\n' });
      assert.equal(readme.counts.total, 0);
      assert.deepEqual(statusesAt(gh, readmeSha), [
        ['pending', 'testing the notebooks…'],
        ['success', 'no notebooks affected'],
      ]);

      const { run: env2 } = await merge({ 'requirements.txt': 'numpy\nscipy\n' });
      assert.deepEqual(
        env2.notebooks.map((n) => [n.path, n.selectedBecause]),
        ['w/Indirect.ipynb', 'x/One.ipynb', 'x/Two.ipynb', 'x/sub/Deep.ipynb', 'y/Three.ipynb', 'z/Four.ipynb'].map(
          (p) => [p, ['environment']],
        ),
      );

      // A change too large to list in a history (300 paths of ~1,000 bytes): the whole suite.
      const deep = ['d', 'e', 'f', 'g'].map((c) => c.repeat(240)).join('/');
      const { run: bulk } = await merge(
        Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`bulk/${i}/${deep}.csv`, `${i}\n`])),
      );
      assert.equal(bulk.counts.total, 6, 'every notebook');
    });
    await fs.rm(dir, { recursive: true, force: true });
  });
});
