/**
 * The environment's changes since the previous run, when the latest report lists them: the same
 * typed rows (package, from, to) as the report's own environment section, from one view
 * (src/views/runs/environment.ts). Values come from the environment of the run: escaped by the template.
 */
import type { EnvironmentChange } from '../../domain/runs/environment.js';
import type { RunOverview } from '../../domain/runs/history.js';
import { environmentChangesTable } from '../../views/runs/environment.js';
import { h, type Html } from './layout.js';
import type { Links } from './links.js';

const MAX_ROWS = 100;

export function environmentChanges(changes: readonly EnvironmentChange[], run: RunOverview, links: Links): Html | null {
  const n = changes.length;
  if (n === 0) return null;
  return h`<h2>Environment changes</h2><div class="env"><p>In the latest run (<a href="${links.report(run.runId)}">${run.kind}, <code>${run.commit.slice(0, 7)}</code></a>)${
    n > MAX_ROWS ? `; the first ${MAX_ROWS} of ${n}` : ''
  }:</p>${environmentChangesTable(changes, MAX_ROWS, 'list mono')}</div>`;
}
