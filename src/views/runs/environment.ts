/**
 * An environment's changes between two runs as a table: the one rendering report.html's
 * environment section and the dashboard's overview share, so both show the same typed rows
 * (package, from, to). Package names and versions come from a kernel: escaped by the template.
 */
import type { EnvironmentChange } from '../../domain/runs/environment.js';
import { h, type Html } from '../template.js';

/** The first `max` changes; the caller says where the rest are. */
export function environmentChangesTable(changes: readonly EnvironmentChange[], max: number, cls = ''): Html {
  return h`<table${cls ? h` class="${cls}"` : ''}><thead><tr><th>package</th><th>from</th><th>to</th></tr></thead><tbody>
${changes.slice(0, max).map((c) => h`<tr><td>${c.package}</td><td>${c.from ?? '–'}</td><td>${c.to ?? '–'}</td></tr>`)}
</tbody></table>`;
}
