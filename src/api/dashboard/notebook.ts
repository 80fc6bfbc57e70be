/**
 * GET /ui/notebooks/<path>: one notebook over time. A strip with one mark per run (colored by
 * status, oldest left), its durations as a sparkline, since when it has its status, the last
 * commit where it passed, and its runs with their report, executed notebook and Temporal UI.
 */
import { overviewOf, type HistoryRow, type NotebookOverview, type NotebookRun } from '../../domain/runs/history.js';
import {
  formatDate,
  formatDuration,
  h,
  page,
  pager,
  pathLabel,
  percent,
  plural,
  STATUS_COLOR,
  STATUS_LABEL,
  statusBadge,
  when,
  type Html,
} from './layout.js';
import type { Links } from './links.js';
import { catalogFacts } from './catalog.js';
import type { CatalogEntry } from '../../storage/runs/catalog.js';

/** Runs read per notebook page (the history route's maximum). */
export const NOTEBOOK_RUNS = 1000;
export const STRIP_RUNS = 200;
export const ROWS_PER_PAGE = 50;

/** The overview's facts (since, last pass, pass rate, flaky) from the runs read, newest first. */
export function summaryOf(path: string, runs: NotebookRun[]): NotebookOverview {
  const changed = runs.findIndex((r) => r.status !== runs[0]!.status);
  const sinceAt = changed < 0 ? runs.length - 1 : changed - 1;
  const lastPassed = runs.findIndex((r) => r.status === 'passed');
  const rows = runs.map((r, i): HistoryRow => ({
    path,
    runId: r.runId,
    commit: r.commit,
    status: r.status,
    cause: r.cause,
    flaky: r.flaky,
    finishedAt: r.finishedAt,
    rn: i + 1,
    total: runs.length,
    isSince: i === sinceAt,
    isLastPassed: i === lastPassed,
  }));
  return overviewOf(rows)[0]!;
}

export interface NotebookPageData {
  path: string;
  runs: NotebookRun[];
  page: number;
  nowMs: number;
  /** Its header cell's fields and its contract (storage/runs/catalog.ts). */
  catalog?: CatalogEntry;
}

export function notebookPage(d: NotebookPageData, links: Links): Html {
  const s = summaryOf(d.path, d.runs);
  const partial = d.runs.length >= NOTEBOOK_RUNS;
  const pages = Math.max(1, Math.ceil(d.runs.length / ROWS_PER_PAGE));
  const pageNo = Math.min(d.page, pages);
  const rows = d.runs.slice((pageNo - 1) * ROWS_PER_PAGE, pageNo * ROWS_PER_PAGE);
  const recent = d.runs.slice(0, STRIP_RUNS).reverse();
  const self = `/ui/notebooks/${d.path.split('/').map(encodeURIComponent).join('/')}`;
  const body = h`<h1>${pathLabel(d.path)}</h1>
<dl class="facts">
<dt>Now</dt><dd>${statusBadge(s.status)}${s.flaky ? h` <span class="badge flaky">flaky</span>` : null}${
    s.cause ? h` <code>${s.cause}</code>` : null
  }</dd>
<dt>Since</dt><dd>${when(s.since.finishedAt, d.nowMs)} (<a href="${links.report(s.since.runId)}">run <code>${s.since.runId}</code></a>, commit <code>${s.since.commit.slice(0, 7)}</code>)${
    partial && s.since.runId === d.runs.at(-1)!.runId ? ' or earlier' : ''
  }</dd>
<dt>Last passed</dt><dd>${
    s.lastPassed
      ? h`commit <code title="${s.lastPassed.commit}">${s.lastPassed.commit.slice(0, 7)}</code> (<a href="${links.report(s.lastPassed.runId)}">run <code>${s.lastPassed.runId}</code></a>)`
      : h`<span class="muted">${partial ? `not in its last ${NOTEBOOK_RUNS} runs` : 'never'}</span>`
  }</dd>
<dt>Pass rate</dt><dd>${percent(s.passRate)} of the last ${Math.min(20, d.runs.length)} runs</dd>
<dt>Runs</dt><dd>${partial ? `the last ${NOTEBOOK_RUNS}` : plural(d.runs.length, 'recorded run')}</dd>
${catalogFacts(d.catalog)}
</dl>
<h2>History${d.runs.length > STRIP_RUNS ? ` (last ${STRIP_RUNS} runs)` : ''}</h2>
<div class="strip" aria-label="one mark per run, oldest first">${recent.map((r) => mark(r, links))}</div>
<p class="muted">Oldest left, newest right; a short mark passed only on a retry. ${legend(recent)}</p>
<h2>Duration</h2>
${sparkline(recent)}
<h2>Runs</h2>
<table class="list"><thead><tr><th>Finished</th><th>Kind</th><th>Commit</th><th>Status</th><th class="num">Duration</th><th>Links</th></tr></thead>
<tbody>${rows.map((r) => runRow(d.path, r, links, d.nowMs))}</tbody></table>
${pager(pageNo, pages, (p) => `${self}?page=${p}`)}`;
  return page(d.path, 'notebooks', body);
}

function mark(r: NotebookRun, links: Links): Html {
  const title = `${formatDate(r.finishedAt)} · ${STATUS_LABEL[r.status]} · ${formatDuration(r.durationMs)} · ${r.kind} ${r.runId}${r.cause ? ` · ${r.cause}` : ''}`;
  return h`<a class="m-${r.status}${r.flaky ? ' flk' : ''}" href="${links.report(r.runId)}" title="${title}"></a>`;
}

function legend(runs: NotebookRun[]): Html {
  const present = [...new Set(runs.map((r) => r.status))];
  return h`${present.map((st) => h`<span class="badge st-${st}">${STATUS_LABEL[st]}</span> `)}`;
}

/** Durations, oldest left: a line, and a dot in its status's color where it did not pass. */
function sparkline(runs: NotebookRun[]): Html {
  if (runs.length < 2) return h`<p class="note">Not enough runs for a trend.</p>`;
  const W = 720;
  const H = 90;
  const pad = 6;
  const max = Math.max(...runs.map((r) => r.durationMs), 1);
  const x = (i: number) => pad + (i * (W - 2 * pad)) / (runs.length - 1);
  const y = (ms: number) => H - pad - (Math.max(0, ms) * (H - 2 * pad)) / max;
  const points = runs.map((r, i) => `${x(i).toFixed(1)},${y(r.durationMs).toFixed(1)}`).join(' ');
  const dots = runs.flatMap((r, i) =>
    r.status === 'passed'
      ? []
      : [
          h`<circle cx="${x(i).toFixed(1)}" cy="${y(r.durationMs).toFixed(1)}" r="2.5" fill="${STATUS_COLOR[r.status]}" />`,
        ],
  );
  const last = runs.at(-1)!;
  return h`<svg class="spark" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="durations of the last ${runs.length} runs">
<polyline points="${points}" fill="none" stroke="#0969da" stroke-width="1.5" />${dots}</svg>
<p class="muted">Longest ${formatDuration(max)}; latest ${formatDuration(last.durationMs)}; median ${formatDuration(median(runs.map((r) => r.durationMs)))}.</p>`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function runRow(path: string, r: NotebookRun, links: Links, nowMs: number): Html {
  const t = links.temporal(r.runId);
  return h`<tr><td>${when(r.finishedAt, nowMs)}</td><td>${r.kind}</td><td><code title="${r.commit}">${r.commit.slice(0, 7)}</code></td>
<td>${statusBadge(r.status)}${r.flaky ? h` <span class="badge flaky">flaky</span>` : null}${r.attempts > 1 ? h` <span class="muted">${r.attempts} attempts</span>` : null}${
    r.cause ? h`<div class="mono">${r.cause}</div>` : null
  }</td>
<td class="num">${formatDuration(r.durationMs)}</td>
<td><a href="${links.report(r.runId)}">report</a> · <a href="${links.view(r.runId, path)}">executed notebook</a>${t ? h` · <a href="${t}">Temporal</a>` : null}</td></tr>`;
}
