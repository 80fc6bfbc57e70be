/**
 * Root causes: normalizing error texts, grouping failing notebooks, and the terminal summary
 * that opens with them.
 *
 *   node --import tsx --test test/domain/runs/causes.test.ts
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { causeLine, causeOf, groupCauses, normalizeText, type CauseInput } from '../../../src/domain/runs/causes.js';
import { countSummaries, type NotebookStatus, type TestRunResult } from '../../../src/domain/runs/model.js';
import { summaryText } from '../../../src/domain/runs/summary.js';

const failing = (path: string, ename: string, evalue: string, status: NotebookStatus = 'failed'): CauseInput => ({
  path,
  status,
  error: { ename, evalue },
  message: `cell 3: ${ename}: ${evalue}`,
});
const passing = (path: string): CauseInput => ({ path, status: 'passed', error: null, message: null });

describe('normalizeText', () => {
  test('keeps what names the cause: module names, short codes, digits inside names', () => {
    for (const text of [
      "No module named 'numpy'",
      "No module named 'h5py'",
      "No module named 'astro_datalab.v2'",
      '404 Client Error: Not Found',
      "[Errno 2] No such file or directory: 'data.csv'",
      'index 5 is out of bounds for axis 0 with size 3',
    ]) {
      assert.equal(normalizeText(text), text);
    }
    assert.notEqual(normalizeText("No module named 'numpy'"), normalizeText("No module named 'matplotlib'"));
  });

  test('replaces what varies between notebooks and runs', () => {
    assert.equal(
      normalizeText('<Figure object at 0x7f3a2b1c9d90> is not JSON serializable'),
      '<Figure object at 0x…> is not JSON serializable',
    );
    assert.equal(
      normalizeText('Connection to 127.0.0.1 port 54321 timed out after 30.5 seconds'),
      'Connection to 127.0.0.1 port <n> timed out after <n> seconds',
    );
    assert.equal(
      normalizeText("[Errno 2] No such file or directory: '/var/lib/nblc/results/scheduled-2024-x1/tmp/abc/data.csv'"),
      "[Errno 2] No such file or directory: '…/data.csv'",
    );
    assert.equal(normalizeText('job 123e4567-e89b-12d3-a456-426614174000 failed'), 'job <uuid> failed');
    assert.equal(normalizeText('expired at 2024-05-01T02:00:03.123Z'), 'expired at <time>');
    assert.equal(normalizeText('see https://example.org/api/v1'), 'see https://example.org/api/v1', 'URLs stay');
  });

  test('takes the first line, collapses whitespace, bounds the length', () => {
    assert.equal(normalizeText('first   line\nsecond line'), 'first line');
    const long = normalizeText('x'.repeat(1000));
    assert.equal(long.length, 200);
    assert.ok(long.endsWith('…'));
  });
});

describe('causeOf', () => {
  test('a passed notebook has none; an error is the cause; otherwise the message without its cell', () => {
    assert.equal(causeOf(passing('a.ipynb')), null);
    assert.deepEqual(causeOf(failing('a.ipynb', 'KeyError', "'ra'")), {
      status: 'failed',
      ename: 'KeyError',
      evalue: "'ra'",
    });
    const timedOut = (cell: number): CauseInput => ({
      path: 'x',
      status: 'timed_out',
      error: null,
      message: `cell ${cell} exceeded the cell timeout of 600s; then cell ${cell + 1} exceeded the notebook timeout`,
    });
    assert.deepEqual(causeOf(timedOut(3)), {
      status: 'timed_out',
      ename: '',
      evalue: 'a cell exceeded the cell timeout of 600s',
    });
    assert.deepEqual(causeOf(timedOut(3)), causeOf(timedOut(12)));
    assert.deepEqual(causeOf({ status: 'kernel_died', error: null, message: null }), {
      status: 'kernel_died',
      ename: '',
      evalue: '',
    });
  });
});

describe('groupCauses', () => {
  test('groups by status and normalized first error, largest first, notebooks in run order', () => {
    const notebooks: CauseInput[] = [
      failing('a.ipynb', 'ModuleNotFoundError', "No module named 'matplotlib'"),
      failing('b.ipynb', 'ModuleNotFoundError', "No module named 'numpy'"),
      passing('c.ipynb'),
      failing('d.ipynb', 'ModuleNotFoundError', "No module named 'numpy'"),
      failing('e.ipynb', 'TypeError', '<object at 0x7f00aa11> is not callable'),
      failing('f.ipynb', 'TypeError', '<object at 0x7f00bb22> is not callable'),
      failing('g.ipynb', 'ModuleNotFoundError', "No module named 'numpy'"),
      // the same error deciding another status is another cause
      failing('h.ipynb', 'ModuleNotFoundError', "No module named 'numpy'", 'needs_input'),
    ];
    const causes = groupCauses(notebooks);
    assert.deepEqual(causes, [
      {
        status: 'failed',
        ename: 'ModuleNotFoundError',
        evalue: "No module named 'numpy'",
        notebooks: ['b.ipynb', 'd.ipynb', 'g.ipynb'],
      },
      {
        status: 'failed',
        ename: 'TypeError',
        evalue: '<object at 0x…> is not callable',
        notebooks: ['e.ipynb', 'f.ipynb'],
      },
      {
        status: 'failed',
        ename: 'ModuleNotFoundError',
        evalue: "No module named 'matplotlib'",
        notebooks: ['a.ipynb'],
      },
      {
        status: 'needs_input',
        ename: 'ModuleNotFoundError',
        evalue: "No module named 'numpy'",
        notebooks: ['h.ipynb'],
      },
    ]);
    assert.equal(causeLine(causes[0]!), "3 notebooks: ModuleNotFoundError: No module named 'numpy'");
    assert.equal(causeLine(causes[2]!), "1 notebook: ModuleNotFoundError: No module named 'matplotlib'");
    assert.deepEqual(groupCauses([passing('a'), passing('b')]), []);
  });
});

describe('summaryText', () => {
  const base = (over: Partial<TestRunResult>): TestRunResult => {
    const notebooks = [
      { path: 'a.ipynb', status: 'failed' as const, durationMs: 1200, attempts: 1 },
      { path: 'b.ipynb', status: 'passed' as const, durationMs: 800, attempts: 1 },
    ];
    return {
      runId: 'manual-1',
      commit: 'a'.repeat(40),
      kind: 'manual',
      counts: countSummaries(notebooks),
      reportDir: '/results/manual-1',
      notebooks,
      failures: [{ path: 'a.ipynb', status: 'failed' }],
      newlyFailing: [],
      fixed: [],
      ...over,
    };
  };

  test('opens with the root causes, one line each', () => {
    const text = summaryText(
      base({
        causes: [
          { status: 'failed', ename: 'ModuleNotFoundError', evalue: "No module named 'numpy'", notebooks: ['a.ipynb'] },
        ],
      }),
    );
    const lines = text.split('\n');
    assert.equal(lines[0], 'root causes:');
    assert.equal(lines[1], "  1 notebook: ModuleNotFoundError: No module named 'numpy'");
    assert.match(text, /failed\s+1\.2s\s+a\.ipynb/);
    assert.match(text, /1 passed, 1 not passed of 2/);
  });

  test('a result without causes (a run from before them) is summarized as before', () => {
    const text = summaryText(base({}));
    assert.match(text.split('\n')[0]!, /^status\s+duration\s+notebook$/);
  });
});

test('an ename a kernel chose is one line of at most 200 characters, like the evalue', () => {
  const ename = `Evil${'X'.repeat(500)}\n@channel second line`;
  const cause = causeOf({ status: 'failed', error: { ename, evalue: 'boom\nmore' }, message: null })!;
  assert.equal(cause.ename.length, 200);
  assert.doesNotMatch(cause.ename, /\n|@channel/);
  assert.equal(
    causeOf({ status: 'failed', error: { ename: '  Value\tError  ', evalue: '' }, message: null })!.ename,
    'Value Error',
  );
});
