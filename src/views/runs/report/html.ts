/**
 * report.html: one self-contained page (inline CSS, no scripts, no external resources) an
 * operator reads at a glance. Not-passing notebooks come first, each with its error one click
 * away (<details>). Deterministic: nothing on the page depends on when it was rendered.
 */
import type {
  NotebookError,
  NotebookResult,
  NotebookStatus,
  ResourceLimits,
  TestReport,
} from '../../../domain/runs/model.js';
import { isFailing, NOTEBOOK_STATUSES, plural } from '../../../domain/runs/status.js';
import { SETTINGS_CSS, selectionLine, settingsDetails, sharedDatasetsLine } from './settings-html.js';
import { causeLine, type RunCause } from '../../../domain/runs/causes.js';
import { ENVIRONMENT_CSS, environmentSection, whyHtml } from './environment-html.js';
import { BADGE_CSS, BASE_CSS } from '../presentation.js';
import {
  cellName,
  elapsedMs,
  formatDate,
  formatBytes,
  formatCpu,
  formatDuration,
  html,
  oneLine,
  problemErrors,
  relativeHref,
  splitPath,
  STATUS_LABEL,
} from './text.js';

export interface HtmlOptions {
  /** Whether the notebook's executed artifact exists (no link to a file that is not there). */
  hasArtifact: (nb: NotebookResult) => boolean;
}

const CSS = `
main { max-width: 1200px; margin: 0 auto; padding: 0 24px 48px; }
a { color: #0969da; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
header.run { padding: 18px 24px 14px; border-bottom: 1px solid var(--line); margin-bottom: 18px; border-top: 6px solid #1a7f37; background: #f3fbf5; }
header.run.bad { border-top-color: #cf222e; background: #fff6f5; }
header.run h1 { margin: 0 auto 6px; max-width: 1152px; font-size: 22px; font-weight: 650; }
header.run .inner { max-width: 1152px; margin: 0 auto; }
dl.meta { display: flex; flex-wrap: wrap; gap: 4px 22px; margin: 0 0 10px; color: var(--muted); }
dl.meta div { display: flex; gap: 6px; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; color: var(--fg); }
.counts { display: flex; flex-wrap: wrap; gap: 6px; margin: 0; }
.counts .badge { font-size: 14px; padding: 3px 12px; }
.unsandboxed { margin: 0 0 14px; padding: 10px 16px; border: 1px solid #d4a72c; border-left-width: 5px; border-radius: 6px; background: #fff8c5; color: #4d2d00; font-weight: 600; }
.total { background: #fff; color: var(--fg); border-color: var(--line); }
section.changes { border: 1px solid var(--line); border-left-width: 5px; border-radius: 6px; padding: 8px 16px; margin: 0 0 14px; }
section.changes h2 { font-size: 16px; margin: 4px 0 6px; }
section.changes ul { margin: 0; padding-left: 0; list-style: none; }
section.changes li { padding: 2px 0; }
section.newly-failing { border-left-color: #cf222e; background: #fff6f5; }
section.fixed { border-left-color: #1a7f37; background: #f3fbf5; }
section.causes { border-left-color: #cf222e; }
section.causes ul.nbs { margin: 4px 0 6px 22px; list-style: disc; columns: 2; }
section.causes summary { color: var(--fg); }
.cause { font-weight: 600; }
details.later > summary { color: var(--muted); }
.note { color: var(--muted); margin: 0 0 14px; }
.msg { color: #57202a; }
table.notebooks { width: 100%; border-collapse: collapse; table-layout: fixed; }
table.notebooks th { text-align: left; white-space: normal; vertical-align: bottom; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); border-bottom: 2px solid var(--line); padding: 6px 8px; }
table.notebooks th.num { text-align: right; }
table.notebooks td { border-bottom: 1px solid var(--line); padding: 6px 8px; vertical-align: top; overflow-wrap: anywhere; }
table.notebooks col.status { width: 130px; } table.notebooks col.dur { width: 90px; } table.notebooks col.res { width: 80px; } table.notebooks col.mem { width: 120px; } table.notebooks col.kernel { width: 130px; } table.notebooks col.att { width: 110px; }
tr.bad td { background: #fff8f7; }
tr.bad td:first-child { box-shadow: inset 4px 0 0 #cf222e; }
tr.sep td { background: var(--bg-soft); color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.dir { color: var(--muted); }
.nb-name { font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.missing { color: var(--muted); font-size: 12px; }
details { margin-top: 4px; }
details summary { cursor: pointer; color: #a40e26; }
details summary code { color: inherit; }
pre.tb { margin: 6px 0 4px; padding: 10px 12px; background: #161b22; color: #e6edf3; border-radius: 6px; overflow-x: auto; white-space: pre; max-height: 480px; }
footer { margin-top: 22px; color: var(--muted); font-size: 12.5px; }
`;

export function renderHtml(report: TestReport, opts: HtmlOptions): string {
  const c = report.counts;
  const notPassing = report.notebooks.filter((nb) => isFailing(nb.status));
  const verdict = notPassing.length
    ? `${notPassing.length} of ${plural(c.total, 'notebook')} not passing`
    : `all ${plural(c.total, 'notebook')} passed`;
  const commit7 = report.commit.slice(0, 7);
  const title = `${notPassing.length ? '✗' : '✓'} ${verdict} · nblc ${report.kind} run ${commit7}`;
  const rowId = new Map(report.notebooks.map((nb, i) => [nb.path, `nb-${i + 1}`]));
  const byPath = new Map(report.notebooks.map((nb) => [nb.path, nb]));

  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8" />',
    '<meta name="viewport" content="width=device-width, initial-scale=1" />',
    `<title>${html(title)}</title>`,
    `<style>${BASE_CSS}${BADGE_CSS}${CSS}${ENVIRONMENT_CSS}${SETTINGS_CSS}</style>`,
    '</head>',
    '<body>',
    header(report, verdict, notPassing.length > 0),
    '<main>',
    causes(report.causes, rowId),
    sharedDatasetsLine(report.sharedDatasets),
    unsandboxedBanner(report),
    ...(report.warnings ?? []).map((w) => `<p class="unsandboxed run-warning">⚠ ${html(w)}</p>`),
    networkBanner(report),
    changes(report, byPath, rowId),
    environmentSection(report),
    notebooksTable(report, rowId, opts),
    `<footer>Machine-readable: <a href="report.json">report.json</a> · <a href="junit.xml">junit.xml</a>. Run <code>${html(report.runId)}</code>, commit <code>${html(report.commit)}</code>.</footer>`,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function header(report: TestReport, verdict: string, bad: boolean): string {
  const c = report.counts;
  const meta: Array<[string, string]> = [
    ['Run', `<code>${html(report.runId)}</code>`],
    ['Commit', `<code title="${html(report.commit)}">${html(report.commit.slice(0, 7))}</code>`],
    ['Started', html(formatDate(report.startedAt))],
    ['Finished', html(formatDate(report.finishedAt))],
    ['Duration', html(formatDuration(elapsedMs(report.startedAt, report.finishedAt)))],
  ];
  if (report.temporalUiUrl) {
    const url = report.temporalUiUrl;
    meta.push([
      'Temporal',
      /^https?:\/\//i.test(url) ? `<a href="${html(url)}">open the run in the Temporal UI</a>` : html(url),
    ]);
  }
  const badges = [
    `<span class="badge total">${c.total} total</span>`,
    ...NOTEBOOK_STATUSES.filter((s) => s === 'passed' || c[s] > 0).map(
      (s) => `<span class="badge st-${s}">${c[s]} ${html(STATUS_LABEL[s])}</span>`,
    ),
    ...(c.flaky ? [`<span class="badge flaky">${c.flaky} flaky</span>`] : []),
  ];
  return [
    `<header class="run${bad ? ' bad' : ''}"><div class="inner">`,
    `<h1>nblc ${html(report.kind)} run: ${html(verdict)}</h1>`,
    `<dl class="meta">${meta.map(([k, v]) => `<div><dt>${k}</dt><dd>${v}</dd></div>`).join('')}</dl>`,
    `<p class="counts">${badges.join(' ')}</p>`,
    '</div></header>',
  ].join('\n');
}

/**
 * Root causes first: one line per cause, largest first, each opening to its notebooks. A page of
 * hundreds of failing rows often has two or three causes.
 */
function causes(list: RunCause[], rowId: Map<string, string>): string {
  if (!list.length) return '';
  const item = (c: RunCause) =>
    [
      `<li><details><summary>${statusBadge(c.status)} <span class="cause">${html(causeLine(c))}</span></summary>`,
      '<ul class="nbs">',
      ...c.notebooks.map((p) => `<li><a href="#${rowId.get(p) ?? ''}">${html(p)}</a></li>`),
      '</ul></details></li>',
    ].join('');
  return [
    `<section class="changes causes" id="causes"><h2>Root causes (${list.length})</h2><ul>`,
    ...list.map(item),
    '</ul></section>',
  ].join('\n');
}

/** NBLC_KERNEL_NETWORK=host is never silent either: kernels that shared the host's network. */
function networkBanner(report: TestReport): string {
  const n = report.networkNotIsolated ?? 0;
  if (!n) return '';
  const which =
    n === report.counts.total ? "This run's kernels were" : `${n} of ${report.counts.total} notebooks' kernels were`;
  return `<p class="unsandboxed" id="network-not-isolated">⚠ ${which} not network-isolated (NBLC_KERNEL_NETWORK=host): they shared the host's network, with the service's ports and the private network in reach.</p>`;
}

/** NBLC_SANDBOX=off is never silent: the run's page says so before anything else. */
function unsandboxedBanner(report: TestReport): string {
  const n = report.unsandboxed ?? 0;
  if (!n) return '';
  const which = n === report.counts.total ? 'This run was' : `${n} of ${report.counts.total} notebooks were`;
  return `<p class="unsandboxed" id="unsandboxed">⚠ ${which} executed unsandboxed (NBLC_SANDBOX=off): the kernels ran as the service's user, with its files and processes in reach and no memory limit.</p>`;
}

function changes(report: TestReport, byPath: Map<string, NotebookResult>, rowId: Map<string, string>): string {
  const prev = report.previousRunId;
  if (!prev) return `<p class="note">No earlier finished ${html(report.kind)} run to compare with.</p>`;
  const prevLink = `<a href="../${html(encodeURIComponent(prev))}/report.html"><code>${html(prev)}</code></a>`;
  if (!report.newlyFailing.length && !report.fixed.length) {
    return `<p class="note">No change since the previous ${html(report.kind)} run ${prevLink}.</p>`;
  }
  const item = (p: string) => {
    const nb = byPath.get(p);
    const link = `<a href="#${rowId.get(p) ?? ''}">${html(p)}</a>`;
    if (!nb || nb.status === 'passed') return `<li>${link}</li>`;
    return `<li>${statusBadge(nb.status)} ${link} <span class="msg">${html(oneLine(nb))}</span>${whyHtml(report, p)}</li>`;
  };
  const parts: string[] = [];
  if (report.newlyFailing.length) {
    parts.push(
      `<section class="changes newly-failing" id="newly-failing"><h2>Newly failing (${report.newlyFailing.length}) since ${prevLink}</h2><ul>`,
      ...report.newlyFailing.map(item),
      '</ul></section>',
    );
  }
  if (report.fixed.length) {
    parts.push(
      `<section class="changes fixed" id="fixed"><h2>Fixed since ${prevLink} (${report.fixed.length})</h2><ul>`,
      ...report.fixed.map(item),
      '</ul></section>',
    );
  }
  return parts.join('\n');
}

function notebooksTable(report: TestReport, rowId: Map<string, string>, opts: HtmlOptions): string {
  if (!report.notebooks.length) return '<p class="note">This run had no notebooks.</p>';
  const bad = report.notebooks.filter((nb) => isFailing(nb.status));
  const skipped = report.notebooks.filter((nb) => nb.status === 'skipped');
  const good = report.notebooks.filter((nb) => nb.status === 'passed');
  const row = (nb: NotebookResult) => notebookRow(nb, rowId.get(nb.path) ?? '', opts);
  const sep = (text: string) => `<tr class="sep"><td colspan="7">${text}</td></tr>`;
  return [
    `<table class="notebooks">`,
    '<colgroup><col class="status" /><col /><col class="dur" /><col class="res" /><col class="mem" /><col class="kernel" /><col class="att" /></colgroup>',
    '<thead><tr><th>Status</th><th>Notebook</th><th class="num">Duration</th><th class="num">CPU</th><th class="num">Peak memory</th><th>Kernel</th><th>Attempts</th></tr></thead>',
    '<tbody>',
    ...(bad.length ? [sep(`Not passing (${bad.length})`), ...bad.map(row)] : []),
    ...(skipped.length ? [sep(`Skipped (${skipped.length})`), ...skipped.map(row)] : []),
    ...(good.length ? [sep(`Passed (${good.length})`), ...good.map(row)] : []),
    '</tbody>',
    '</table>',
  ].join('\n');
}

function notebookRow(nb: NotebookResult, id: string, opts: HtmlOptions): string {
  const { dir, name } = splitPath(nb.path);
  const label = `${dir ? `<span class="dir">${html(dir)}/</span>` : ''}<span class="nb-name">${html(name)}</span>`;
  const pathCell = opts.hasArtifact(nb)
    ? `<a href="${html(relativeHref(nb.artifact))}" title="the executed notebook">${label}</a>`
    : `${label} <span class="missing">(no executed notebook)</span>`;
  const problem =
    nb.status === 'passed'
      ? ''
      : nb.status === 'skipped'
        ? `<div class="msg">${html(nb.message ?? 'skipped')}</div>`
        : problemDetails(nb) + (nb.skipExpired ? `<div class="msg">${html(nb.skipExpired)}</div>` : '');
  const attempts = nb.attempts > 0 ? String(nb.attempts) : '–';
  return [
    `<tr id="${id}"${nb.status === 'passed' ? '' : nb.status === 'skipped' ? ' class="skipped"' : ' class="bad"'}>`,
    `<td>${statusBadge(nb.status)}</td>`,
    `<td>${pathCell}${nb.outputTruncated ? TRUNCATED : ''}${problem}${selectionLine(nb.selectedBecause)}${settingsDetails(nb.settings)}</td>`,
    `<td class="num">${html(formatDuration(nb.durationMs))}</td>`,
    `<td class="num">${html(formatCpu(nb.cpuSeconds))}</td>`,
    `<td class="num"${PEAK_TITLE[nb.limits ?? 'cgroup2'] ?? ''}>${html(formatBytes(nb.peakMemoryBytes))}</td>`,
    `<td class="mono">${nb.kernel ? html(nb.kernel) : '–'}</td>`,
    `<td>${attempts}${nb.flaky ? ' <span class="badge flaky">flaky</span>' : ''}</td>`,
    '</tr>',
  ].join('');
}

const TRUNCATED =
  ' <span class="badge flaky output-truncated" title="past NBLC_NOTEBOOK_OUTPUT_LIMIT: the executed notebook notes where">output truncated</span>';

/** Peak memory not measured over the whole notebook says so on hover. */
const PEAK_TITLE: Partial<Record<ResourceLimits, string>> = {
  rlimit: ' title="the largest single process (no cgroup: memory limited per process)"',
  none: ' title="the largest single process (unsandboxed: no memory limit)"',
};

/**
 * The one-line problem, always visible; the first unexpected error expandable to its traceback.
 * The executor's message names the deciding error (and what happened after it), so it is that
 * error's summary. Later errors are mostly its consequences (a NameError in every cell after a
 * failed import): they are collapsed behind their count.
 */
function problemDetails(nb: NotebookResult): string {
  const [first, ...later] = problemErrors(nb);
  const parts: string[] = [];
  if (!first || first !== nb.error) parts.push(`<div class="msg">${html(oneLine(nb))}</div>`);
  if (nb.status === 'timed_out' && nb.timedOutCell !== null && !first) {
    parts.push(
      `<div class="missing">stopped at ${html(cellName(nb.timedOutCell))}; ${nb.cellsRun} of ${nb.cellsTotal} code cells ran</div>`,
    );
  }
  if (first) parts.push(errorDetails(first, first === nb.error ? html(oneLine(nb)) : undefined));
  if (later.length) {
    parts.push(
      `<details class="later"><summary>${plural(later.length, 'later error')}</summary>${later.map((e) => errorDetails(e)).join('')}</details>`,
    );
  }
  return parts.join('');
}

function errorDetails(e: NotebookError, summary?: string): string {
  summary ??= `${html(cellName(e.cell))}: <code>${html(e.ename)}</code>: ${html(firstLine(e.evalue))}`;
  return `<details><summary>${summary}</summary><pre class="tb">${html(e.traceback || `${e.ename}: ${e.evalue}`)}</pre></details>`;
}

function firstLine(s: string): string {
  const line = s.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

function statusBadge(status: NotebookStatus): string {
  return `<span class="badge st-${status}">${html(STATUS_LABEL[status])}</span>`;
}
