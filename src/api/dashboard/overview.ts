/**
 * GET /: what an operator reads first. The latest run of each kind, what is failing now grouped
 * by cause (29 notebooks with one cause are one line to fix, not 29), since when, the flaky
 * notebooks, and the environment's changes when the latest report lists them (and, under a newly
 * failing notebook, what changed since it last passed). Every list is
 * capped: with 500 notebooks failing in 500 ways the page stays a page; the full lists are the
 * paged notebooks and runs pages.
 */
import type { NotebookOverview, RunOverview } from '../../domain/runs/history.js';
import { isFailing, type NotebookStatus, type RunKind } from '../../domain/runs/model.js';
import type { ReportExtras } from '../../storage/runs/run-reports.js';
import { asNewlyFailingChanges, changeText } from '../../domain/runs/environment.js';
import { environmentChanges } from './environment.js';
import { h, page, pathLabel, percent, plural, statusBadge, when, type Html } from './layout.js';
import { notebookHref, type Links } from './links.js';
import { runsTable } from './runs.js';
import { candidateCards } from './candidates.js';
import type { CandidateSummary } from '../../storage/runs/candidate-runs.js';

export const OVERVIEW_LIMITS = { causes: 25, perCause: 10, openCauses: 3, flaky: 20, recentRuns: 10 };

export interface LatestRun {
  kind: RunKind;
  run: RunOverview | null;
  extras: ReportExtras | null;
}

export interface ActiveRun {
  runId: string;
  kind?: string;
  startTime: string;
}

export interface OverviewData {
  notebooks: NotebookOverview[];
  latest: LatestRun[];
  recent: RunOverview[];
  /** Runs in progress (from Temporal); null when Temporal did not answer. */
  active: ActiveRun[] | null;
  nowMs: number;
  /** The latest candidate run per kernel (issue 19), shown beside the scheduled run. */
  candidates?: CandidateSummary[];
}

interface CauseGroup {
  status: NotebookStatus;
  cause: string;
  notebooks: NotebookOverview[];
  since: string;
}

/** Not-passing notebooks by (status, cause), largest group first, each longest-failing first. */
export function groupByCause(notebooks: readonly NotebookOverview[]): CauseGroup[] {
  const groups = new Map<string, CauseGroup>();
  for (const nb of notebooks) {
    if (!isFailing(nb.status)) continue; // a deliberate skip is no cause
    const cause = nb.cause ?? nb.status.replace(/_/g, ' ');
    const key = JSON.stringify([nb.status, cause]);
    const g = groups.get(key) ?? { status: nb.status, cause, notebooks: [], since: nb.since.finishedAt };
    g.notebooks.push(nb);
    if (nb.since.finishedAt < g.since) g.since = nb.since.finishedAt;
    groups.set(key, g);
  }
  for (const g of groups.values()) g.notebooks.sort((a, b) => a.since.finishedAt.localeCompare(b.since.finishedAt));
  return [...groups.values()].sort((a, b) => b.notebooks.length - a.notebooks.length || a.since.localeCompare(b.since));
}

export function overviewPage(d: OverviewData, links: Links): Html {
  // A scheduled run tests the whole suite: a notebook it did not have was removed or renamed.
  // Its history stays, but it is not "failing now".
  const full = d.latest.find((l) => l.kind === 'scheduled')?.run;
  const gone = full ? d.notebooks.filter((nb) => nb.lastRun.finishedAt < full.finishedAt) : [];
  const goneSet = new Set(gone);
  const current = gone.length ? d.notebooks.filter((nb) => !goneSet.has(nb)) : d.notebooks;
  const failing = current.filter((nb) => isFailing(nb.status));
  const flaky = current.filter((nb) => nb.flaky);
  const latestWithExtras = [...d.latest]
    .filter((l) => l.run)
    .sort((a, b) => b.run!.finishedAt.localeCompare(a.run!.finishedAt))[0];
  const env = latestWithExtras?.extras?.environmentChanges;
  const body = h`<h1>Notebooks</h1>
${tiles(current.length, failing.length, flaky.length)}
${gone.length ? goneNote(gone) : null}
<h2>Latest runs</h2>
<div class="cards">${d.latest.map((l) => runCard(l, links, d.nowMs))}${candidateCards(d.candidates ?? [], links, d.nowMs)}</div>
${activeRuns(d.active, links, d.nowMs)}
${env === undefined ? null : environmentChanges(env, latestWithExtras!.run!, links)}
${failingNow(failing, links, d.nowMs, whyFailing(d.latest))}
${flakyList(flaky)}
<h2>Recent runs</h2>
${d.recent.length ? runsTable(d.recent, links, d.nowMs) : h`<p class="note">No recorded runs yet.</p>`}
<p><a href="/ui/runs">All runs →</a></p>`;
  return page('Overview', 'overview', body);
}

function tiles(total: number, failing: number, flaky: number): Html {
  return h`<div class="tiles">
<a class="tile" href="/ui/notebooks"><div class="n">${total}</div>notebooks</a>
<a class="tile good" href="/ui/notebooks?status=passing"><div class="n">${total - failing}</div>passing</a>
<a class="tile${failing ? ' bad' : ''}" href="/ui/notebooks?status=failing"><div class="n">${failing}</div>failing now</a>
<a class="tile${flaky ? ' warn' : ''}" href="/ui/notebooks?status=flaky"><div class="n">${flaky}</div>flaky</a>
</div>`;
}

function runCard({ kind, run, extras }: LatestRun, links: Links, nowMs: number): Html {
  if (!run) return h`<div class="card none"><h3>${kind}</h3><p class="muted">No recorded ${kind} run.</p></div>`;
  const bad = run.notebooks - run.passed;
  const temporal = /^https?:\/\//i.test(extras?.temporalUiUrl ?? '')
    ? extras!.temporalUiUrl!
    : links.temporal(run.runId);
  return h`<div class="card${bad ? ' bad' : ''}"><h3>${kind}</h3>
<div class="verdict">${bad ? `✗ ${bad} of ${run.notebooks} not passing` : `✓ all ${plural(run.notebooks, 'notebook')} passed`}</div>
<div class="muted">finished ${when(run.finishedAt, nowMs)} · commit <code title="${run.commit}">${run.commit.slice(0, 7)}</code>${
    run.flaky ? ` · ${run.flaky} flaky` : ''
  }</div>
<div><a href="${links.report(run.runId)}">report</a>${temporal ? h` · <a href="${temporal}">Temporal UI</a>` : null}</div></div>`;
}

function activeRuns(active: ActiveRun[] | null, links: Links, nowMs: number): Html | null {
  if (active === null) return h`<p class="note">Runs in progress: Temporal did not answer.</p>`;
  if (!active.length) return null;
  const item = (r: ActiveRun) => {
    const t = links.temporal(r.runId);
    return h`<li><code>${r.runId}</code> (${r.kind ?? 'run'}, started ${when(r.startTime, nowMs)})${
      t ? h` · <a href="${t}">Temporal UI</a>` : null
    }</li>`;
  };
  return h`<p><b>In progress:</b></p><ul>${active.slice(0, 10).map(item)}</ul>`;
}

/** What changed since each notebook newly failing in one of the latest runs last passed. */
function whyFailing(latest: readonly LatestRun[]): Map<string, string> {
  const why = new Map<string, string>();
  for (const l of latest) {
    for (const c of asNewlyFailingChanges(l.extras?.newlyFailingChanges)) why.set(c.path, changeText(c));
  }
  return why;
}

function failingNow(failing: NotebookOverview[], links: Links, nowMs: number, why: Map<string, string>): Html {
  if (!failing.length) return h`<h2>Failing now</h2><p class="note">Nothing is failing.</p>`;
  const groups = groupByCause(failing);
  const shown = groups.slice(0, OVERVIEW_LIMITS.causes);
  const rest = groups.slice(shown.length).reduce((n, g) => n + g.notebooks.length, 0);
  const group = (g: CauseGroup, i: number) => {
    const more = g.notebooks.length - OVERVIEW_LIMITS.perCause;
    const q = new URLSearchParams({ status: 'failing', cause: g.cause }).toString();
    return h`<details class="cause"${i < OVERVIEW_LIMITS.openCauses ? h` open` : null}>
<summary><span class="badge count">${g.notebooks.length}</span>${statusBadge(g.status)}<span class="what">${g.cause}</span><span class="muted">since ${when(g.since, nowMs)}</span></summary>
<table class="list"><thead><tr><th>Notebook</th><th>Failing since</th><th>Last passed</th><th class="num">Pass rate</th></tr></thead><tbody>
${g.notebooks.slice(0, OVERVIEW_LIMITS.perCause).map((nb) => failingRow(nb, links, nowMs, why.get(nb.path)))}
</tbody></table>${more > 0 ? h`<p><a href="/ui/notebooks?${q}">${plural(more, 'more notebook')} with this cause →</a></p>` : null}</details>`;
  };
  return h`<h2>Failing now: ${plural(failing.length, 'notebook')}, ${plural(groups.length, 'cause')}</h2>
${shown.map(group)}
${rest ? h`<p><a href="/ui/notebooks?status=failing">${plural(rest, 'more failing notebook')} with other causes →</a></p>` : null}`;
}

function failingRow(nb: NotebookOverview, links: Links, nowMs: number, why?: string): Html {
  return h`<tr><td><a href="${notebookHref(nb.path)}">${pathLabel(nb.path)}</a>${why ? h`<div class="muted">${why}</div>` : null}</td>
<td><a href="${links.report(nb.since.runId)}">${when(nb.since.finishedAt, nowMs)}</a></td>
<td>${nb.lastPassed ? h`<a href="${links.report(nb.lastPassed.runId)}"><code>${nb.lastPassed.commit.slice(0, 7)}</code></a>` : h`<span class="muted">never</span>`}</td>
<td class="num">${percent(nb.passRate)}</td></tr>`;
}

function flakyList(flaky: NotebookOverview[]): Html | null {
  if (!flaky.length) return null;
  const shown = [...flaky].sort((a, b) => a.passRate - b.passRate).slice(0, OVERVIEW_LIMITS.flaky);
  return h`<h2>Flaky: ${plural(flaky.length, 'notebook')}</h2>
<p class="note">Status went back and forth in the recent runs, or a pass needed a retry.</p>
<table class="list"><thead><tr><th>Notebook</th><th>Now</th><th class="num">Pass rate</th><th class="num">Runs</th></tr></thead><tbody>
${shown.map(
  (nb) =>
    h`<tr><td><a href="${notebookHref(nb.path)}">${pathLabel(nb.path)}</a></td><td>${statusBadge(nb.status)}</td><td class="num">${percent(nb.passRate)}</td><td class="num">${nb.runs}</td></tr>`,
)}
</tbody></table>${flaky.length > shown.length ? h`<p><a href="/ui/notebooks?status=flaky">All ${flaky.length} flaky notebooks →</a></p>` : null}`;
}

function goneNote(gone: NotebookOverview[]): Html {
  const shown = gone.slice(0, OVERVIEW_LIMITS.flaky);
  return h`<details><summary class="muted">${plural(gone.length, 'notebook')} not in the latest scheduled run (removed or renamed?), not counted</summary>
<ul>${shown.map((nb) => h`<li><a href="${notebookHref(nb.path)}">${pathLabel(nb.path)}</a></li>`)}</ul>${
    gone.length > shown.length ? h`<p class="muted">and ${gone.length - shown.length} more</p>` : null
  }</details>`;
}
