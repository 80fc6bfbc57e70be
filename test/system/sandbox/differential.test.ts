// Legitimate notebooks keep working in the sandbox: a suite of notebooks (the repository's own
// supernotebook and notebooks that do what sandboxes break: differential-suite.ts) is run with
// `jupyter nbconvert --execute --inplace` (the platform's original method: in place, in a copy of
// the tree, same kernel, same network) and through nblc's executor (the activity's arguments,
// forked; a part also spawned). Every notebook that passes there passes under nblc, one that fails
// there fails under nblc at the same cell, not earlier; the one that differs by design (it reaches
// a service on the host's loopback) fails under nblc with a result that says why in words.
//   node --import tsx --test test/system/sandbox/differential.test.ts
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { executorEnv } from '../../../src/activities/runs/executor-process.js';
import { executeToEnd } from '../../helpers/executor.js';
import { sandboxArgs } from '../../../src/activities/runs/sandbox.js';
import { loadConfig, PROJECT_ROOT, type Config } from '../../../src/platform/config.js';
import type { ExecutorResult } from '../../../src/domain/runs/model.js';
import { suite, writeSuite, type SuiteNotebook } from './differential-suite.js';

const JUPYTER = path.join(PROJECT_ROOT, '.venv', 'bin', 'jupyter');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nblc-differential-'));
const snapshot = path.join(root, 'snapshot');
/** The notebooks also run through a spawned executor (the rest only forked: the sandbox is the same). */
const SPAWNED = ['bang.ipynb', 'folder/figures.ipynb'];

let config: Config;
let SUITE: Record<string, SuiteNotebook> = {};
let dirs: string[] = [];
let hostService: net.Server;
let n = 0;

/** nbconvert over the whole suite in one copy of the tree (one process, each notebook in its own
 * folder): per notebook null when it passed, else the first cell with an error. */
async function nbconvert(): Promise<Map<string, number | null>> {
  const copy = path.join(root, 'in-place');
  fs.cpSync(snapshot, copy, { recursive: true, verbatimSymlinks: true });
  for (const dir of dirs) fs.chmodSync(path.join(copy, path.relative(snapshot, dir)), 0o755);
  const home = fs.mkdtempSync(path.join(root, 'home-')); // no operator token, no user's settings
  const files = Object.keys(SUITE).map((rel) => path.join(copy, rel));
  // asynchronous: the host service answers from this process meanwhile
  await promisify(execFile)(
    JUPYTER,
    ['nbconvert', '--to', 'notebook', '--execute', '--inplace', '--allow-errors', ...files],
    {
      env: { ...process.env, HOME: home, MPLBACKEND: 'Agg' },
      maxBuffer: 64 << 20,
    },
  );
  const seen = new Map<string, number | null>();
  for (const rel of Object.keys(SUITE)) {
    const nb = JSON.parse(fs.readFileSync(path.join(copy, rel), 'utf8')) as {
      cells: Array<{ outputs?: Array<{ output_type: string }> }>;
    };
    const failed = nb.cells.findIndex((c) => (c.outputs ?? []).some((o) => o.output_type === 'error'));
    seen.set(rel, failed === -1 ? null : failed);
  }
  return seen;
}

/** nblc's executor, as the activity starts it. */
async function nblc(mode: 'fork' | 'spawn', rel: string): Promise<ExecutorResult & { out: string }> {
  const out = path.join(root, 'results', `${mode}-${++n}`);
  fs.mkdirSync(out, { recursive: true });
  const args = [
    ...['--notebook', path.join(snapshot, rel), '--root', snapshot],
    ...['--output', path.join(out, 'executed.ipynb'), '--result', path.join(out, 'result.json')],
    ...['--scratch-root', path.join(out, 'tmp'), '--cell-timeout', '60'],
    ...sandboxArgs(config),
  ];
  const env = executorEnv(config.env, config.sandbox.kernelEnv);
  await executeToEnd(mode, args, path.join(out, 'stderr'), env);
  const result = JSON.parse(fs.readFileSync(path.join(out, 'result.json'), 'utf8')) as ExecutorResult;
  return { ...result, out };
}

before(async () => {
  hostService = net.createServer((s) => s.end('host-service\n'));
  await new Promise<void>((resolve) => hostService.listen(0, '127.0.0.1', resolve));
  SUITE = suite((hostService.address() as net.AddressInfo).port);
  dirs = writeSuite(snapshot, SUITE);
  config = loadConfig({ ...process.env, NBLC_REPO_URL: 'file:///nonexistent', NBLC_REPO_FULL_NAME: 'a/b' });
});

after(() => {
  hostService.close();
  for (const dir of dirs) fs.chmodSync(dir, 0o755);
  fs.rmSync(root, { recursive: true, force: true });
});

describe('nblc against nbconvert --execute in place', { concurrency: 1, timeout: 600_000 }, () => {
  let expected = new Map<string, number | null>();

  test('nbconvert: the suite behaves as written (the failing ones fail at their cell)', async () => {
    expected = await nbconvert();
    for (const [rel, { failsAt }] of Object.entries(SUITE))
      assert.equal(expected.get(rel), failsAt, `${rel} under nbconvert`);
  });

  for (const mode of ['fork', 'spawn'] as const)
    test(`nblc (${mode}): what passes there passes here; what fails there fails at the same cell`, async () => {
      assert.equal(expected.size, Object.keys(SUITE).length, 'the nbconvert run came first');
      for (const [rel, failsAt] of expected) {
        if (mode === 'spawn' && !SPAWNED.includes(rel)) continue;
        const result = await nblc(mode, rel);
        const byDesign = SUITE[rel]!.byDesign;
        if (byDesign) {
          assert.equal(result.status, 'failed', `${rel} reaches no host service under nblc`);
          assert.match(result.message ?? '', byDesign, `${rel}: the result says why in words`);
        } else if (failsAt === null) assert.equal(result.status, 'passed', `${rel}: ${result.message}`);
        else {
          assert.equal(result.status, 'failed', rel);
          assert.equal(result.error?.cell, failsAt, `${rel} fails at the cell where nbconvert stopped`);
        }
        if (rel === 'big-output.ipynb') {
          assert.ok(!result.outputTruncated, 'an output under the cap is kept whole');
          const executed = fs.readFileSync(path.join(result.out, 'executed.ipynb'), 'utf8');
          assert.ok(executed.includes('00016383' + 'x'.repeat(55)), 'the last line is in the executed notebook');
        }
      }
      assert.equal(fs.readFileSync(path.join(snapshot, 'folder', 'Figures', 'movie.mp4'), 'utf8'), 'committed movie');
      assert.ok(!fs.existsSync(path.join(snapshot, 'places', 'db')), 'the published tree is untouched');
    });
});
