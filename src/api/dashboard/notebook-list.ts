/**
 * GET /ui/notebooks: every notebook of the history, filtered (status, a cause, a part of the
 * path) and a page at a time: the overview's "more →" links land here.
 */
import type { NotebookOverview } from '../../domain/runs/history.js';
import { isFailing } from '../../domain/runs/model.js';
import { h, page, pager, pathLabel, percent, plural, statusBadge, when, type Html } from './layout.js';
import { notebookHref } from './links.js';
import { catalogChoices, catalogLine, matchesCatalog } from './catalog.js';
import type { CatalogEntry } from '../../storage/runs/catalog.js';

/** A filter's select: its choices from the catalog (none: no select). */
function choice(name: string, any: string, values: string[], chosen: string | undefined): Html | null {
  if (!values.length && !chosen) return null;
  return h`<select name="${name}"><option value="">${any}</option>${values.map(
    (v) => h`<option value="${v}"${v === chosen ? h` selected` : null}>${v}</option>`,
  )}</select>`;
}

export const NOTEBOOKS_PER_PAGE = 50;
export const STATUS_FILTERS = ['all', 'failing', 'passing', 'flaky'] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

export interface NotebookFilter {
  status: StatusFilter;
  cause?: string;
  q?: string;
  /** Only notebooks whose header cell lists this dataset / keyword (catalog.ts). */
  dataset?: string;
  keyword?: string;
  page: number;
}

export function filterNotebooks(
  all: readonly NotebookOverview[],
  f: NotebookFilter,
  catalog: Readonly<Record<string, CatalogEntry>> = {},
): NotebookOverview[] {
  const q = f.q?.toLowerCase();
  return all.filter(
    (nb) =>
      (f.status === 'all' ||
        (f.status === 'failing' && isFailing(nb.status)) ||
        (f.status === 'passing' && nb.status === 'passed') ||
        (f.status === 'flaky' && nb.flaky)) &&
      (f.cause === undefined || (nb.cause ?? nb.status.replace(/_/g, ' ')) === f.cause) &&
      (!q || nb.path.toLowerCase().includes(q)) &&
      matchesCatalog(Object.hasOwn(catalog, nb.path) ? catalog[nb.path] : undefined, f.dataset, f.keyword),
  );
}

export function notebookListPage(
  all: readonly NotebookOverview[],
  f: NotebookFilter,
  nowMs: number,
  catalog: Readonly<Record<string, CatalogEntry>> = {},
): Html {
  const matching = filterNotebooks(all, f, catalog);
  const choices = catalogChoices(catalog);
  const entry = (p: string) => (Object.hasOwn(catalog, p) ? catalog[p] : undefined);
  const pages = Math.max(1, Math.ceil(matching.length / NOTEBOOKS_PER_PAGE));
  const pageNo = Math.min(f.page, pages);
  const shown = matching.slice((pageNo - 1) * NOTEBOOKS_PER_PAGE, pageNo * NOTEBOOKS_PER_PAGE);
  const params = (p: number) =>
    new URLSearchParams({
      ...(f.status !== 'all' ? { status: f.status } : {}),
      ...(f.cause !== undefined ? { cause: f.cause } : {}),
      ...(f.q ? { q: f.q } : {}),
      ...(f.dataset ? { dataset: f.dataset } : {}),
      ...(f.keyword ? { keyword: f.keyword } : {}),
      page: String(p),
    }).toString();
  const row = (nb: NotebookOverview) => h`<tr>
<td>${statusBadge(nb.status)}${nb.flaky ? h` <span class="badge flaky">flaky</span>` : null}</td>
<td><a href="${notebookHref(nb.path)}">${pathLabel(nb.path)}</a>${nb.cause ? h`<div class="muted mono">${nb.cause}</div>` : null}${catalogLine(entry(nb.path))}</td>
<td>${when(nb.since.finishedAt, nowMs)}</td>
<td>${nb.lastPassed ? h`<code>${nb.lastPassed.commit.slice(0, 7)}</code>` : h`<span class="muted">never</span>`}</td>
<td class="num">${percent(nb.passRate)}</td><td class="num">${nb.runs}</td></tr>`;
  return page(
    'Notebooks',
    'notebooks',
    h`<h1>Notebooks</h1>
<form class="filter" method="get" action="/ui/notebooks">
<select name="status">${STATUS_FILTERS.map((s) => h`<option value="${s}"${s === f.status ? h` selected` : null}>${s}</option>`)}</select>
<input type="search" name="q" value="${f.q ?? ''}" placeholder="part of the path" />
${choice('dataset', 'any dataset', choices.datasets, f.dataset)}${choice('keyword', 'any keyword', choices.keywords, f.keyword)}
${f.cause !== undefined ? h`<input type="hidden" name="cause" value="${f.cause}" />` : null}
<button type="submit">Filter</button></form>
${f.cause !== undefined ? h`<p>Cause: <code>${f.cause}</code> · <a href="/ui/notebooks?status=${f.status}">any cause</a></p>` : null}
<p class="muted">${plural(matching.length, 'notebook')}${matching.length !== all.length ? ` of ${all.length}` : ''}</p>
${
  shown.length
    ? h`<table class="list"><thead><tr><th>Status</th><th>Notebook</th><th>Status since</th><th>Last passed</th><th class="num">Pass rate</th><th class="num">Runs</th></tr></thead><tbody>${shown.map(row)}</tbody></table>`
    : h`<p class="note">No notebook matches.</p>`
}
${pager(pageNo, pages, (p) => `/ui/notebooks?${params(p)}`)}`,
  );
}
