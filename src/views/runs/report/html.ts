/**
 * report.html: one self-contained page (inline CSS, no scripts, no external resources) an
 * operator reads at a glance. Not-passing notebooks come first, each with its error one click
 * away (<details>). Deterministic: nothing on the page depends on when it was rendered. Written
 * on the dashboard's template (src/views/template.ts): every interpolation is escaped by it.
 */
import type { NotebookError, NotebookResult, ResourceLimits, TestReport } from '../../../domain/runs/model.js';
import { isFailing, NOTEBOOK_STATUSES, plural } from '../../../domain/runs/status.js';
import { h, raw, type Html } from '../../template.js';
import { SETTINGS_CSS, selectionLine, settingsDetails, sharedDatasetsLine } from './settings-html.js';
import { causeLine, type RunCause } from '../../../domain/runs/causes.js';
import { ENVIRONMENT_CSS, environmentSection, whyHtml } from './environment-html.js';
import { COMPARISON_CSS, comparisonSection } from './comparison-html.js';
import { BADGE_CSS, BASE_CSS, statusBadge } from '../presentation.js';
import {
  cellName,
  elapsedMs,
  formatDate,
  formatBytes,
  formatCpu,
  formatDuration,
  oneLine,
  problemErrors,
  relativeHref,
  splitPath,
  STATUS_LABEL,
  stripInvalidChars,
} from './text.js';

export interface HtmlOptions {
  /** Whether the notebook's executed artifact exists (no link to a file that is not there). */
  hasArtifact: (nb: NotebookResult) => boolean;
}

/** The report's own style, after the base and the badges it shares with the dashboard. */
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
.nb-name { font-weight: 600; }
.missing { color: var(--muted); font-size: 12px; }
details { margin-top: 4px; }
details summary { cursor: pointer; color: #a40e26; }
details summary code { color: inherit; }
pre.tb { margin: 6px 0 4px; padding: 10px 12px; background: #161b22; color: #e6edf3; border-radius: 6px; overflow-x: auto; white-space: pre; max-height: 480px; }
footer { margin-top: 22px; color: var(--muted); font-size: 12.5px; }
`;

/**
 * The page. Characters that are not XML characters (terminal garbage in an evalue) are removed
 * from the whole page, as the JUnit file removes them.
 */
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
  const warnings = (report.warnings ?? []).map((w) => h`<p class="unsandboxed run-warning">⚠ ${w}</p>`);
  const style = raw(`${BASE_CSS}${BADGE_CSS}${CSS}${ENVIRONMENT_CSS}${COMPARISON_CSS}${SETTINGS_CSS}`);
  const page = h`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>${title}</title>
<style>${style}</style>
</head>
<body>
${header(report, verdict, notPassing.length > 0)}
<main>
${comparisonSection(report)}
${causes(report.causes, rowId)}
${sharedDatasetsLine(report.sharedDatasets)}
${unsandboxedBanner(report)}
${lines(warnings)}${networkBanner(report)}
${changes(report, byPath, rowId)}
${environmentSection(report)}
${notebooksTable(report, rowId, opts)}
<footer>Machine-readable: <a href="report.json">report.json</a> · <a href="junit.xml">junit.xml</a>. Run <code>${report.runId}</code>, commit <code>${report.commit}</code>.</footer>
</main>
</body>
</html>
`;
  return stripInvalidChars(String(page));
}

/** Fragments one a line, as the page's source reads best. */
function lines(parts: Html[]): Html {
  return h`${parts.map((p) => h`${p}\n`)}`;
}

function header(report: TestReport, verdict: string, bad: boolean): Html {
  const c = report.counts;
  const meta: Array<[string, Html | string]> = [
    ['Run', h`<code>${report.runId}</code>`],
    ['Commit', h`<code title="${report.commit}">${report.commit.slice(0, 7)}</code>`],
    ['Started', formatDate(report.startedAt)],
    ['Finished', formatDate(report.finishedAt)],
    ['Duration', formatDuration(elapsedMs(report.startedAt, report.finishedAt))],
  ];
  if (report.temporalUiUrl) {
    const url = report.temporalUiUrl;
    meta.push(['Temporal', /^https?:\/\//i.test(url) ? h`<a href="${url}">open the run in the Temporal UI</a>` : url]);
  }
  const badges = [
    h`<span class="badge total">${c.total} total</span>`,
    ...NOTEBOOK_STATUSES.filter((s) => s === 'passed' || c[s] > 0).map(
      (s) => h`<span class="badge st-${s}">${c[s]} ${STATUS_LABEL[s]}</span>`,
    ),
    ...(c.flaky ? [h`<span class="badge flaky">${c.flaky} flaky</span>`] : []),
  ];
  return h`<header class="run${bad ? ' bad' : ''}"><div class="inner">
<h1>nblc ${report.kind} run: ${verdict}</h1>
<dl class="meta">${meta.map(([k, v]) => h`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>
<p class="counts">${badges.map((b, i) => (i ? h` ${b}` : b))}</p>
</div></header>`;
}

/**
 * Root causes first: one line per cause, largest first, each opening to its notebooks. A page of
 * hundreds of failing rows often has two or three causes.
 */
function causes(list: RunCause[], rowId: Map<string, string>): Html | '' {
  if (!list.length) return '';
  const item = (c: RunCause) =>
    h`<li><details><summary>${statusBadge(c.status)} <span class="cause">${causeLine(c)}</span></summary><ul class="nbs">${c.notebooks.map(
      (p) => h`<li><a href="#${rowId.get(p) ?? ''}">${p}</a></li>`,
    )}</ul></details></li>`;
  return h`<section class="changes causes" id="causes"><h2>Root causes (${list.length})</h2><ul>
${lines(list.map(item))}</ul></section>`;
}

/** NBLC_KERNEL_NETWORK=host is never silent either: kernels that shared the host's network. */
function networkBanner(report: TestReport): Html | '' {
  const n = report.networkNotIsolated ?? 0;
  if (!n) return '';
  const which =
    n === report.counts.total ? "This run's kernels were" : `${n} of ${report.counts.total} notebooks' kernels were`;
  return h`<p class="unsandboxed" id="network-not-isolated">⚠ ${which} not network-isolated (NBLC_KERNEL_NETWORK=host): they shared the host's network, with the service's ports and the private network in reach.</p>`;
}

/** NBLC_SANDBOX=off is never silent: the run's page says so before anything else. */
function unsandboxedBanner(report: TestReport): Html | '' {
  const n = report.unsandboxed ?? 0;
  if (!n) return '';
  const which = n === report.counts.total ? 'This run was' : `${n} of ${report.counts.total} notebooks were`;
  return h`<p class="unsandboxed" id="unsandboxed">⚠ ${which} executed unsandboxed (NBLC_SANDBOX=off): the kernels ran as the service's user, with its files and processes in reach and no memory limit.</p>`;
}

/** What changed since the previous run of the kind: the newly failing and the fixed notebooks. */
function changes(report: TestReport, byPath: Map<string, NotebookResult>, rowId: Map<string, string>): Html {
  const prev = report.previousRunId;
  if (!prev) return h`<p class="note">No earlier finished ${report.kind} run to compare with.</p>`;
  const prevLink = h`<a href="../${encodeURIComponent(prev)}/report.html"><code>${prev}</code></a>`;
  if (!report.newlyFailing.length && !report.fixed.length) {
    return h`<p class="note">No change since the previous ${report.kind} run ${prevLink}.</p>`;
  }
  const item = (p: string) => {
    const nb = byPath.get(p);
    const link = h`<a href="#${rowId.get(p) ?? ''}">${p}</a>`;
    if (!nb || nb.status === 'passed') return h`<li>${link}</li>`;
    return h`<li>${statusBadge(nb.status)} ${link} <span class="msg">${oneLine(nb)}</span>${whyHtml(report, p)}</li>`;
  };
  const parts: Html[] = [];
  if (report.newlyFailing.length) {
    parts.push(
      h`<section class="changes newly-failing" id="newly-failing"><h2>Newly failing (${report.newlyFailing.length}) since ${prevLink}</h2><ul>
${lines(report.newlyFailing.map(item))}</ul></section>`,
    );
  }
  if (report.fixed.length) {
    parts.push(
      h`<section class="changes fixed" id="fixed"><h2>Fixed since ${prevLink} (${report.fixed.length})</h2><ul>
${lines(report.fixed.map(item))}</ul></section>`,
    );
  }
  return h`${parts.map((p, i) => (i ? h`\n${p}` : p))}`;
}

/** Every notebook: the not passing first, then the skipped, then the passed. */
function notebooksTable(report: TestReport, rowId: Map<string, string>, opts: HtmlOptions): Html {
  if (!report.notebooks.length) return h`<p class="note">This run had no notebooks.</p>`;
  const groups: Array<[string, NotebookResult[]]> = [
    ['Not passing', report.notebooks.filter((nb) => isFailing(nb.status))],
    ['Skipped', report.notebooks.filter((nb) => nb.status === 'skipped')],
    ['Passed', report.notebooks.filter((nb) => nb.status === 'passed')],
  ];
  const rows = groups
    .filter(([, nbs]) => nbs.length)
    .flatMap(([name, nbs]) => [
      h`<tr class="sep"><td colspan="7">${name} (${nbs.length})</td></tr>`,
      ...nbs.map((nb) => notebookRow(nb, rowId.get(nb.path) ?? '', opts)),
    ]);
  return h`<table class="notebooks">
<colgroup><col class="status" /><col /><col class="dur" /><col class="res" /><col class="mem" /><col class="kernel" /><col class="att" /></colgroup>
<thead><tr><th>Status</th><th>Notebook</th><th class="num">Duration</th><th class="num">CPU</th><th class="num">Peak memory</th><th>Kernel</th><th>Attempts</th></tr></thead>
<tbody>
${lines(rows)}</tbody>
</table>`;
}

/** One notebook's row: status, path (to its executed notebook), problem, settings, measures. */
function notebookRow(nb: NotebookResult, id: string, opts: HtmlOptions): Html {
  const { dir, name } = splitPath(nb.path);
  const label = h`${dir ? h`<span class="dir">${dir}/</span>` : ''}<span class="nb-name">${name}</span>`;
  const pathCell = opts.hasArtifact(nb)
    ? h`<a href="${relativeHref(nb.artifact)}" title="the executed notebook">${label}</a>`
    : h`${label} <span class="missing">(no executed notebook)</span>`;
  const problem =
    nb.status === 'passed'
      ? ''
      : nb.status === 'skipped'
        ? h`<div class="msg">${nb.message ?? 'skipped'}</div>`
        : h`${problemDetails(nb)}${nb.skipExpired ? h`<div class="msg">${nb.skipExpired}</div>` : ''}`;
  const rowClass = nb.status === 'passed' ? '' : nb.status === 'skipped' ? h` class="skipped"` : h` class="bad"`;
  const peakTitle = PEAK_TITLE[nb.limits ?? 'cgroup2'];
  return h`<tr id="${id}"${rowClass}><td>${statusBadge(nb.status)}</td><td>${pathCell}${nb.outputTruncated ? TRUNCATED : ''}${problem}${selectionLine(nb.selectedBecause)}${settingsDetails(nb.settings)}</td><td class="num">${formatDuration(nb.durationMs)}</td><td class="num">${formatCpu(nb.cpuSeconds)}</td><td class="num"${peakTitle ? h` title="${peakTitle}"` : ''}>${formatBytes(nb.peakMemoryBytes)}</td><td class="mono">${nb.kernel || '–'}</td><td>${nb.attempts > 0 ? String(nb.attempts) : '–'}${nb.flaky ? h` <span class="badge flaky">flaky</span>` : ''}</td></tr>`;
}

const TRUNCATED = h` <span class="badge flaky output-truncated" title="past NBLC_NOTEBOOK_OUTPUT_LIMIT: the executed notebook notes where">output truncated</span>`;

/** Peak memory not measured over the whole notebook says so on hover. */
const PEAK_TITLE: Partial<Record<ResourceLimits, string>> = {
  rlimit: 'the largest single process (no cgroup: memory limited per process)',
  none: 'the largest single process (unsandboxed: no memory limit)',
};

/**
 * The one-line problem, always visible; the first unexpected error expandable to its traceback.
 * The executor's message names the deciding error (and what happened after it), so it is that
 * error's summary. Later errors are mostly its consequences (a NameError in every cell after a
 * failed import): they are collapsed behind their count.
 */
function problemDetails(nb: NotebookResult): Html {
  const [first, ...later] = problemErrors(nb);
  return h`${!first || first !== nb.error ? h`<div class="msg">${oneLine(nb)}</div>` : ''}${
    nb.status === 'timed_out' && nb.timedOutCell !== null && !first
      ? h`<div class="missing">stopped at ${cellName(nb.timedOutCell)}; ${nb.cellsRun} of ${nb.cellsTotal} code cells ran</div>`
      : ''
  }${first ? errorDetails(first, first === nb.error ? h`${oneLine(nb)}` : undefined) : ''}${
    later.length
      ? h`<details class="later"><summary>${plural(later.length, 'later error')}</summary>${later.map((e) => errorDetails(e))}</details>`
      : ''
  }`;
}

/** One error, its traceback one click away. */
function errorDetails(e: NotebookError, summary?: Html): Html {
  summary ??= h`${cellName(e.cell)}: <code>${e.ename}</code>: ${firstLine(e.evalue)}`;
  return h`<details><summary>${summary}</summary><pre class="tb">${e.traceback || `${e.ename}: ${e.evalue}`}</pre></details>`;
}

/** An evalue's first line, at most 200 characters. */
function firstLine(s: string): string {
  const line = s.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}
