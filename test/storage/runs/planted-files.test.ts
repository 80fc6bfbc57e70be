/**
 * The storage floor's readers of files in the results and cache folders (status.json, a run's
 * catalog and settings, candidate runs' and runs' report.json) read them the one capped way: a
 * file replaced by a link to a secret, to /dev/zero, or by a FIFO gives "none", promptly.
 *   node --import tsx --test test/storage/runs/planted-files.test.ts
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { HistoryStore } from '../../../src/domain/runs/history.js';
import { CATALOG_FILE, REPORT_FILES } from '../../../src/domain/runs/run-dir.js';
import { latestCandidates } from '../../../src/storage/runs/candidate-runs.js';
import { catalogOf } from '../../../src/storage/runs/catalog.js';
import { readPublicStatus } from '../../../src/storage/runs/public-status.js';
import { readReportExtras } from '../../../src/storage/runs/run-reports.js';

let dir = '';
let secretDir = '';
/** Each kind of planted file: a link to a valid file elsewhere, a link to /dev/zero, a FIFO. */
const PLANTS = {
  'link to a valid file': (file: string, valid: string) => fs.symlink(valid, file),
  'link to /dev/zero': (file: string) => fs.symlink('/dev/zero', file),
  FIFO: async (file: string) => void execFileSync('mkfifo', [file]),
};

/** Writes `text` as `file` (regular), or plants `kind` there pointing at a copy elsewhere. */
async function place(file: string, text: string, kind: keyof typeof PLANTS | 'regular'): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  if (kind === 'regular') return fs.writeFile(file, text);
  const valid = path.join(secretDir, `${path.basename(file)}-${Math.random()}`);
  await fs.writeFile(valid, text);
  await PLANTS[kind](file, valid);
}

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nblc-planted-storage-'));
  secretDir = path.join(dir, 'elsewhere');
  await fs.mkdir(secretDir);
});
after(() => fs.rm(dir, { recursive: true, force: true }));

const STATUS = JSON.stringify({ version: 1, notebooks: { 'a.ipynb': { status: 'passed' } } });
const CANDIDATE = JSON.stringify({
  kind: 'candidate',
  finishedAt: '2026-12-07T10:00:00Z',
  commit: 'c'.repeat(40),
  comparison: { kernel: 'py3', baseline: { runId: 'b' }, counts: { 'newly failing': 1, fixed: 0 } },
  notebooks: [],
});

for (const kind of ['regular', ...Object.keys(PLANTS)] as Array<keyof typeof PLANTS | 'regular'>)
  describe(`${kind}`, () => {
    const readable = kind === 'regular';
    let base = '';
    before(async () => {
      base = await fs.mkdtemp(path.join(dir, 'case-'));
    });

    test('status.json', async () => {
      await place(path.join(base, 'cache', 'status.json'), STATUS, kind);
      const read = await readPublicStatus(path.join(base, 'cache'));
      assert.equal(read?.status.notebooks['a.ipynb']?.status, readable ? 'passed' : undefined);
    });

    test('a run’s catalog.json', async () => {
      const runId = 'manual-20261207-100000-aaaaaa';
      await place(
        path.join(base, 'results', runId, CATALOG_FILE),
        JSON.stringify({ 'a.ipynb': { author: 'A' } }),
        kind,
      );
      // the store only names the runs: what is tested is how their files are read
      const store = { runs: async () => ({ runs: [{ runId }], total: 1 }) } as unknown as HistoryStore;
      const catalog = await catalogOf(path.join(base, 'results'), store);
      assert.equal(catalog['a.ipynb']?.header?.author, readable ? 'A' : undefined);
    });

    test('a candidate run’s report.json', async () => {
      const runId = 'candidate-20261207-100000-aaaaaa';
      await place(path.join(base, 'results', runId, REPORT_FILES.json), CANDIDATE, kind);
      const found = await latestCandidates(path.join(base, 'results'));
      assert.equal(found.length, readable ? 1 : 0);
    });

    test('a run’s report.json extras', async () => {
      const runId = 'manual-20261207-110000-bbbbbb';
      await place(path.join(base, 'results', runId, 'report.json'), JSON.stringify({ temporalUiUrl: 'u' }), kind);
      const extras = await readReportExtras(path.join(base, 'results'), runId);
      assert.equal(extras?.temporalUiUrl, readable ? 'u' : undefined);
    });
  });
