/**
 * The dashboard's page shell, style and small pieces. Everything a notebook produced (paths,
 * causes, error text) is attacker-controlled: it only ever enters a page as an interpolation of
 * the `h` template, which escapes it; the few `raw` strings are our own constants. The pages
 * load nothing and run no script (the CSP says so), and look like the run report (report.html).
 */
import { plural, STATUS_LABEL } from '../../domain/runs/status.js';
import { BADGE_CSS, BASE_CSS, formatDuration, STATUS_COLOR, statusBadge } from '../../views/runs/presentation.js';

import { h, raw, type Html } from '../../views/template.js';

export { h, raw, type Html };
export { formatDuration, plural, STATUS_COLOR, STATUS_LABEL, statusBadge };

/** No scripts, no external resources, no framing (the login form), forms only to ourselves. */
export const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

const CSS = `
a { color: #0969da; text-decoration: none; } a:hover { text-decoration: underline; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
nav.top { display: flex; align-items: center; gap: 18px; padding: 10px 24px; background: #24292f; color: #fff; }
nav.top .brand { font-weight: 700; font-size: 16px; color: #fff; margin-right: 8px; }
nav.top a { color: #d0d7de; } nav.top a.here { color: #fff; font-weight: 600; }
nav.top form { margin-left: auto; }
nav.top button { background: transparent; color: #d0d7de; border: 1px solid #57606a; border-radius: 6px; padding: 3px 10px; cursor: pointer; font: inherit; }
main { max-width: 1200px; margin: 0 auto; padding: 18px 24px 48px; }
h1 { font-size: 22px; margin: 6px 0 12px; font-weight: 650; overflow-wrap: anywhere; }
h2 { font-size: 17px; margin: 26px 0 10px; }
.muted, .note { color: var(--muted); }
.tiles { display: flex; flex-wrap: wrap; gap: 12px; margin: 0 0 8px; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; min-width: 140px; color: var(--muted); }
.tile:hover { text-decoration: none; border-color: #0969da; } .tile .n { color: var(--fg); }
.tile .n { font-size: 26px; font-weight: 650; font-variant-numeric: tabular-nums; }
.tile.bad { border-color: #ffcecb; background: #fff6f5; } .tile.bad .n { color: #a40e26; }
.tile.good .n { color: #116329; } .tile.warn { background: #fffbe6; border-color: #eed888; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-top: 5px solid #1a7f37; border-radius: 8px; padding: 10px 14px; }
.card.bad { border-top-color: #cf222e; } .card.none { border-top-color: var(--line); }
.card h3 { margin: 0 0 4px; font-size: 13px; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
.card .verdict { font-size: 16px; font-weight: 600; margin-bottom: 4px; }
.count { background: #fff; border-color: var(--line); color: var(--fg); }
details.cause { border: 1px solid var(--line); border-left: 5px solid #cf222e; border-radius: 6px; margin: 0 0 8px; padding: 6px 12px; }
details.cause > summary { cursor: pointer; display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
details.cause > summary::before { content: '▸'; color: var(--muted); } details.cause[open] > summary::before { content: '▾'; }
details.cause > summary .what { font-weight: 600; overflow-wrap: anywhere; }
table.list { width: 100%; border-collapse: collapse; margin: 6px 0; }
table.list th { text-align: left; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); border-bottom: 2px solid var(--line); padding: 5px 8px; }
table.list td { border-bottom: 1px solid var(--line); padding: 5px 8px; vertical-align: top; overflow-wrap: anywhere; }
.nb { font-weight: 600; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0 0 8px; }
dl.facts dt { font-weight: 600; color: var(--muted); } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.strip { display: flex; flex-wrap: wrap; gap: 2px; margin: 4px 0; }
.strip a { display: block; width: 9px; height: 26px; border-radius: 2px; }
.strip a.flk { height: 20px; margin-top: 6px; }
svg.spark { display: block; border: 1px solid var(--line); border-radius: 6px; background: var(--bg-soft); }
.pager { display: flex; gap: 12px; align-items: center; margin: 10px 0; }
form.filter { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 0 0 10px; }
form.filter input[type=search] { min-width: 260px; }
input, select, button { font: inherit; padding: 4px 8px; border: 1px solid var(--line); border-radius: 6px; }
.env { border: 1px solid #b6e3ff; border-left: 5px solid #0969da; background: #f5fbff; border-radius: 6px; padding: 6px 14px; }
.nbview .cell { display: flex; gap: 10px; margin: 0 0 10px; }
.nbview .prompt { flex: 0 0 48px; text-align: right; color: var(--muted); font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; padding-top: 8px; }
.nbview .body { flex: 1; min-width: 0; }
.nbview .md pre { margin-left: 58px; background: #fff; border: 0; color: var(--muted); white-space: pre-wrap; }
.nbview pre { margin: 0 0 4px; padding: 8px 10px; border-radius: 6px; overflow-x: auto; font-size: 12.5px; }
.nbview pre.src { background: var(--bg-soft); border: 1px solid var(--line); }
.nbview pre.out { background: #fff; border-left: 3px solid var(--line); white-space: pre-wrap; overflow-wrap: anywhere; }
.nbview pre.out.err { background: #fff8f7; border-left-color: #ffcecb; }
.nbview pre.tb { background: #161b22; color: #e6edf3; max-height: 480px; }
.nbview img.out { max-width: 100%; display: block; margin: 4px 0; }
.login { max-width: 420px; margin: 60px auto; border: 1px solid var(--line); border-radius: 10px; padding: 22px 26px; }
.login label { display: block; font-weight: 600; margin-bottom: 6px; }
.login input { width: 100%; margin-bottom: 12px; }
.login button { background: #1f883d; color: #fff; border-color: #1a7f37; padding: 6px 16px; cursor: pointer; }
.error { background: #ffebe9; border: 1px solid #ffcecb; color: #a40e26; border-radius: 6px; padding: 6px 10px; margin-bottom: 12px; }
`;

const MARKS = Object.entries(STATUS_COLOR)
  .map(([status, color]) => `.strip a.m-${status} { background: ${color}; }`)
  .join('\n');

export type Section = 'overview' | 'notebooks' | 'runs' | null;

export function page(title: string, here: Section, body: Html): Html {
  const link = (to: Section, href: string, label: string) =>
    h`<a href="${href}"${raw(here === to ? ' class="here"' : '')}>${label}</a>`;
  const nav =
    here === null
      ? h`<nav class="top"><span class="brand">nblc</span></nav>`
      : h`<nav class="top"><a class="brand" href="/">nblc</a>${link('overview', '/', 'Overview')}${link(
          'notebooks',
          '/ui/notebooks',
          'Notebooks',
        )}${link('runs', '/ui/runs', 'Runs')}<form method="post" action="/logout"><button type="submit">Log out</button></form></nav>`;
  return h`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8" /><meta name="viewport" content="width=device-width, initial-scale=1" />
<title>${title} · nblc</title><style>${raw(BASE_CSS)}${raw(BADGE_CSS)}${raw(CSS)}${raw(MARKS)}</style></head>
<body>${nav}<main>${body}</main></body></html>`;
}

/** A notebook's path as the report shows it: the folder muted, the name bold. */
export function pathLabel(p: string): Html {
  const i = p.lastIndexOf('/');
  return i < 0
    ? h`<span class="nb">${p}</span>`
    : h`<span class="dir">${p.slice(0, i + 1)}</span><span class="nb">${p.slice(i + 1)}</span>`;
}

/** "2024-05-01 03:00 UTC". */
export function formatDate(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** "3 days ago", for what an operator scans; the exact date is the element's title. */
export function ago(iso: string, nowMs: number): string {
  const s = Math.round((nowMs - Date.parse(iso)) / 1000);
  if (Number.isNaN(s)) return iso;
  if (s < 90) return 'just now';
  if (s > 45 * 86_400) return formatDate(iso).slice(0, 10); // "815 days ago" is harder to place
  const [n, unit] = s < 5400 ? [s / 60, 'minute'] : s < 129_600 ? [s / 3600, 'hour'] : [s / 86_400, 'day'];
  const r = Math.round(n);
  return `${plural(r, unit)} ago`;
}

export function when(iso: string, nowMs: number): Html {
  return h`<span title="${formatDate(iso)}">${ago(iso, nowMs)}</span>`;
}

export const percent = (x: number) => `${Math.round(x * 100)}%`;

/** Previous/next links of a paged list; `href(page)` keeps the list's filters. */
export function pager(pageNo: number, pages: number, href: (p: number) => string): Html {
  if (pages <= 1) return h``;
  return h`<p class="pager">${pageNo > 1 ? h`<a href="${href(pageNo - 1)}">← previous</a>` : null}<span class="muted">page ${pageNo} of ${pages}</span>${
    pageNo < pages ? h`<a href="${href(pageNo + 1)}">next →</a>` : null
  }</p>`;
}
