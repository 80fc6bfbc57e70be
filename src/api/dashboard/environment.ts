/**
 * The environment's changes since the previous run, when the report lists them
 * (`environmentChanges`: packages, kernels, images that changed under the notebooks). Their shape
 * is the report writer's; this renders any JSON readably and boundedly: a list of records as a
 * table, a record as name/value rows, anything else as text. Values come from the environment of
 * the run (package names, versions): escaped like everything else.
 */
import type { RunOverview } from '../../domain/runs/history.js';
import { h, type Html } from './layout.js';
import type { Links } from './links.js';

const MAX_ROWS = 100;
const MAX_COLUMNS = 8;
const MAX_TEXT = 300;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function text(v: unknown): string {
  const s = v === null || v === undefined ? '–' : typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT - 1)}…` : s;
}

function table(head: string[], rows: unknown[][]): Html {
  return h`<table class="list"><thead><tr>${head.map((k) => h`<th>${k}</th>`)}</tr></thead><tbody>${rows.map(
    (r) => h`<tr>${r.map((v) => h`<td class="mono">${text(v)}</td>`)}</tr>`,
  )}</tbody></table>`;
}

function body(changes: unknown): Html {
  if (Array.isArray(changes) && changes.length && changes.every(isRecord)) {
    const keys = [...new Set(changes.flatMap((c) => Object.keys(c)))].slice(0, MAX_COLUMNS);
    return table(
      keys,
      changes.slice(0, MAX_ROWS).map((c) => keys.map((k) => c[k])),
    );
  }
  if (Array.isArray(changes))
    return h`<ul>${changes.slice(0, MAX_ROWS).map((c) => h`<li class="mono">${text(c)}</li>`)}</ul>`;
  if (isRecord(changes)) {
    const entries = Object.entries(changes).slice(0, MAX_ROWS);
    return table(
      ['what', 'change'],
      entries.map(([k, v]) => [k, v]),
    );
  }
  return h`<p class="mono">${text(changes)}</p>`;
}

function size(changes: unknown): number {
  if (Array.isArray(changes)) return changes.length;
  if (isRecord(changes)) return Object.keys(changes).length;
  return 1;
}

export function environmentChanges(changes: unknown, run: RunOverview, links: Links): Html | null {
  const n = size(changes);
  if (n === 0) return null;
  return h`<h2>Environment changes</h2><div class="env"><p>In the latest run (<a href="${links.report(run.runId)}">${run.kind}, <code>${run.commit.slice(0, 7)}</code></a>)${
    n > MAX_ROWS ? `; the first ${MAX_ROWS} of ${n}` : ''
  }:</p>${body(changes)}</div>`;
}
