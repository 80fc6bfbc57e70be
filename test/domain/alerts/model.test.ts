/** The pure decision of what to alert on: state changes, flaky notebooks kept quiet, grouping. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  groupNotebooks,
  isFlaky,
  MAX_GROUPS,
  MAX_LISTED,
  notebookChanges,
  renderAlert,
  runAlerts,
  runStateAlert,
  stateChange,
  type PastResult,
  type RunNotebook,
} from '../../../src/domain/alerts/model.js';
import { countSummaries, type NotebookStatus } from '../../../src/domain/runs/model.js';
import { summaryText } from '../../../src/domain/runs/summary.js';

const policy = { quietFlaky: true, flakyAfter: 3 };
const run = { runId: 'merge-abc', kind: 'merge' as const, commit: 'a'.repeat(40) };
/** 'PPF' → newest first: passed, passed, failed. */
const past = (s: string): PastResult[] =>
  [...s].map((c) => ({ status: (c === 'P' ? 'passed' : 'failed') as NotebookStatus, flaky: false }));
const nb = (path: string, status: NotebookStatus, cause: string | null = null): RunNotebook => ({
  path,
  status,
  cause: status === 'passed' ? null : (cause ?? 'ValueError: boom'),
});
const changes = (status: NotebookStatus, history: string, p = policy) => {
  const c = notebookChanges([nb('x', status)], new Map([['x', past(history)]]), p);
  return c.newlyFailing.length ? 'newly-failing' : c.fixed.length ? 'fixed' : 'quiet';
};

describe('notebookChanges', () => {
  test('a stable notebook: its first failure and its fix are told, nothing in between', () => {
    assert.equal(changes('failed', 'PPPP'), 'newly-failing');
    assert.equal(changes('failed', 'FPPP'), 'quiet', 'still failing');
    assert.equal(changes('timed_out', 'FPPP'), 'quiet', 'another way of failing is still failing');
    assert.equal(changes('passed', 'FFPPP'), 'fixed');
    assert.equal(changes('passed', 'PPPP'), 'quiet');
  });

  test('a new notebook that fails is newly failing; one that passes is nothing', () => {
    assert.equal(changes('failed', ''), 'newly-failing');
    assert.equal(changes('passed', ''), 'quiet');
  });

  test('a flaky notebook alerts only at its Nth failure in a row, and its fix only then', () => {
    const flakyPast = 'PFPFP'; // back and forth
    assert.ok(isFlaky(past(flakyPast)));
    assert.equal(changes('failed', flakyPast), 'quiet');
    assert.equal(changes('failed', `F${flakyPast}`), 'quiet');
    assert.equal(changes('failed', `FF${flakyPast}`), 'newly-failing', 'the third in a row');
    assert.equal(changes('failed', `FFF${flakyPast}`), 'quiet', 'told once');
    assert.equal(changes('passed', `F${flakyPast}`), 'quiet', 'its failure was not told');
    assert.equal(changes('passed', `FFF${flakyPast}`), 'fixed');
  });

  test('with NBLC_ALERT_QUIET_FLAKY=false flaky notebooks alert like the others', () => {
    const loud = { quietFlaky: false, flakyAfter: 3 };
    assert.equal(changes('failed', 'PFPFP', loud), 'newly-failing');
    assert.equal(changes('passed', 'FPFP', loud), 'fixed');
  });

  test('a pass that needed a retry makes a notebook flaky; one regression and its fix do not', () => {
    assert.ok(isFlaky([{ status: 'passed', flaky: true }]));
    assert.ok(!isFlaky(past('FFPPP')));
    // A real breakage then a fix: the fix is told although the history now went back and forth.
    assert.equal(changes('passed', 'FPPP'), 'fixed');
  });
});

describe('runAlerts', () => {
  test('one alert for a cause that broke many notebooks, naming the cause; one for the fixed', () => {
    const notebooks = [
      ...Array.from({ length: 23 }, (_, i) =>
        nb(`svc/nb${String(i).padStart(2, '0')}.ipynb`, 'failed', 'ConnectionError: to svc'),
      ),
      nb('ok.ipynb', 'passed'),
    ];
    const history = new Map([['ok.ipynb', past('FP')]]);
    const alerts = runAlerts(run, notebooks, history, policy);
    assert.deepEqual(
      alerts.map((a) => a.id),
      ['newly-failing', 'fixed'],
    );
    const [failing, fixed] = alerts;
    assert.match(
      failing!.title,
      /^23 notebooks newly failing: ConnectionError: to svc in the merge run merge-abc of aaaaaaaaaaaa/,
    );
    assert.equal(failing!.groups.length, 1);
    assert.equal(failing!.groups[0]!.notebooks.length, MAX_LISTED);
    assert.equal(failing!.groups[0]!.more, 23 - MAX_LISTED);
    assert.match(fixed!.title, /^1 notebook fixed/);
    const text = renderAlert(failing!, 'https://nblc.example.org/runs/merge-abc/~1.x/report.html').text;
    assert.match(text, /… and 13 more/);
    assert.match(text, /Report: https:\/\/nblc\.example\.org\/runs\/merge-abc/);
    assert.match(text, /commit a{40}/);
  });

  test('several causes: largest first, capped, the rest counted', () => {
    const items = Array.from({ length: MAX_GROUPS + 2 }, (_, g) =>
      Array.from({ length: g + 1 }, (_, i) => ({ path: `g${g}/n${i}`, heading: `cause ${g}` })),
    ).flat();
    const groups = groupNotebooks(items);
    assert.equal(groups[0]!.heading, `cause ${MAX_GROUPS + 1}`);
    assert.equal(groups.length, MAX_GROUPS + 1);
    assert.deepEqual(groups.at(-1), { heading: 'other causes', notebooks: [], more: 1 + 2 });
  });

  test('nothing changed, nothing to say', () => {
    assert.deepEqual(runAlerts(run, [nb('a', 'passed'), nb('b', 'failed')], new Map([['b', past('F')]]), policy), []);
  });
});

describe('run-level states', () => {
  test('broken once, told once; its retry decides the same; the next good run is a recovery', () => {
    const first = stateChange(null, 'run-1', 'broken');
    assert.equal(first.changed, true);
    assert.equal(stateChange(first.record, 'run-1', 'broken').changed, true, 'a retry of the same run');
    const second = stateChange(first.record, 'run-2', 'broken');
    assert.equal(second.changed, false, 'still broken: no second alert');
    const back = stateChange(second.record, 'run-3', 'ok');
    assert.equal(back.changed, true);
    assert.equal(stateChange(back.record, 'run-4', 'ok').changed, false);
    assert.equal(stateChange(null, 'run-0', 'ok').changed, false, 'a first good run is no news');
    assert.match(runStateAlert(run, true, 'nothing is published').note!, /nothing is published/);
  });
});

describe('messages', () => {
  test('chat markup is escaped; the summary of a run names the alerts that did not go out', () => {
    const msg = renderAlert({ id: 'run-error', title: 'a <b> & c', groups: [], note: 'x' });
    assert.equal(msg.subject, '[nblc] a <b> & c');
    assert.match(JSON.stringify(msg.blocks), /a &lt;b&gt; &amp; c/);
    const text = summaryText({
      runId: 'r',
      commit: 'a'.repeat(40),
      kind: 'merge',
      counts: countSummaries([]),
      reportDir: '/results/r',
      notebooks: [],
      failures: [],
      newlyFailing: [],
      fixed: [],
      alerts: [
        { channel: 'email:ops@example.org', alert: 'fixed', ok: true },
        { channel: 'webhook:hooks.example.org#01234567', alert: 'fixed', ok: false, error: 'HTTP 503' },
      ],
    });
    assert.match(text, /^alert fixed to webhook:hooks\.example\.org#01234567 failed: HTTP 503$/m);
    assert.doesNotMatch(text, /email:ops/);
  });
});
