/** GET /ui/runs: every recorded run, newest first, a page at a time; and the table the overview shares. */
import type { RunOverview } from '../../domain/runs/history.js';
import type { RunKind } from '../../domain/runs/model.js';
import { h, page, pager, plural, when, type Html } from './layout.js';
import type { Links } from './links.js';

export const RUNS_PER_PAGE = 50;

export function runsTable(runs: RunOverview[], links: Links, nowMs: number): Html {
  const row = (r: RunOverview) => {
    const bad = r.notebooks - r.passed;
    const t = links.temporal(r.runId);
    return h`<tr><td>${when(r.finishedAt, nowMs)}</td><td>${r.kind}</td><td><code title="${r.commit}">${r.commit.slice(0, 7)}</code></td>
<td>${bad ? h`<span class="badge st-failed">${bad} not passing</span>` : h`<span class="badge st-passed">all passed</span>`} <span class="muted">of ${r.notebooks}</span>${
      r.flaky ? h` <span class="badge flaky">${r.flaky} flaky</span>` : null
    }</td>
<td><a href="${links.report(r.runId)}"><code>${r.runId}</code></a>${t ? h` · <a href="${t}">Temporal</a>` : null}</td></tr>`;
  };
  return h`<table class="list"><thead><tr><th>Finished</th><th>Kind</th><th>Commit</th><th>Result</th><th>Report</th></tr></thead><tbody>${runs.map(row)}</tbody></table>`;
}

export interface RunsPageData {
  runs: RunOverview[];
  total: number;
  page: number;
  kind?: RunKind;
  nowMs: number;
}

export function runsPage(d: RunsPageData, links: Links): Html {
  const pages = Math.max(1, Math.ceil(d.total / RUNS_PER_PAGE));
  const href = (p: number) =>
    `/ui/runs?${new URLSearchParams({ ...(d.kind ? { kind: d.kind } : {}), page: String(p) })}`;
  const kinds: Array<RunKind | undefined> = [undefined, 'scheduled', 'merge', 'manual'];
  const filter = kinds.map((k) =>
    k === d.kind ? h`<b>${k ?? 'all'}</b>` : h`<a href="/ui/runs${k ? `?kind=${k}` : ''}">${k ?? 'all'}</a>`,
  );
  return page(
    'Runs',
    'runs',
    h`<h1>Runs</h1><p>${plural(d.total, 'recorded run')} · ${filter.map((f, i) => (i ? h` · ${f}` : f))}</p>
${d.runs.length ? runsTable(d.runs, links, d.nowMs) : h`<p class="note">No recorded runs.</p>`}
${pager(d.page, pages, href)}`,
  );
}
