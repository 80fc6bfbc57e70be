/**
 * report.html's environment provenance: the environment the run ran in (Python, package count,
 * fingerprint, or why it was not measured), its changes since the previous measured run, and
 * why each newly failing notebook fails (what changed since it last passed). Package names and
 * versions come from the kernel: escaped like everything else.
 */
import { changeText, type NewlyFailingChange } from '../../../domain/runs/environment.js';
import type { TestReport } from '../../../domain/runs/model.js';
import { html } from './text.js';

/** Rows shown; the rest are in report.json. */
const MAX_ROWS = 200;

export const ENVIRONMENT_CSS = `
section.environment { border-left-color: #0969da; }
section.environment table { border-collapse: collapse; margin: 6px 0; }
section.environment td, section.environment th { padding: 2px 12px 2px 0; text-align: left; font-family: ui-monospace, monospace; font-size: 13px; }
.why { color: var(--muted); }
`;

/** " — the notebook changed since it last passed (…)" for a newly failing notebook's line. */
export function whyHtml(report: TestReport, path: string): string {
  const c: NewlyFailingChange | undefined = report.newlyFailingChanges?.find((x) => x.path === path);
  return c ? ` <span class="why">— ${html(changeText(c))}</span>` : '';
}

export function environmentSection(report: TestReport): string {
  const env = report.environment;
  const note = report.historyError ? `<p class="note">${html(report.historyError)}</p>` : '';
  if (!env) return note;
  if (env.error || !env.fingerprint) {
    const why = env.error ?? 'not measured';
    return `<section class="changes environment" id="environment"><h2>Environment</h2><p>Kernel <code>${html(env.kernel)}</code>: ${html(why)}</p></section>${note}`;
  }
  const n = Object.keys(env.packages).length;
  const parts = [
    `<section class="changes environment" id="environment"><h2>Environment</h2>`,
    `<p>Kernel <code>${html(env.kernel)}</code>, Python ${html(env.python ?? '?')}, ${n} packages, fingerprint <code>${html(env.fingerprint.slice(0, 16))}</code>.</p>`,
  ];
  const changes = report.environmentChanges;
  const prev = report.environmentComparedWith;
  if (!prev || !changes) parts.push('<p class="note">No earlier measured environment to compare with.</p>');
  else if (!changes.length) parts.push(`<p>Unchanged since run <code>${html(prev)}</code>.</p>`);
  else {
    parts.push(
      `<p>${changes.length} change${changes.length === 1 ? '' : 's'} since run <code>${html(prev)}</code>${changes.length > MAX_ROWS ? ` (the first ${MAX_ROWS}; all in report.json)` : ''}:</p>`,
      '<table><thead><tr><th>package</th><th>from</th><th>to</th></tr></thead><tbody>',
      ...changes
        .slice(0, MAX_ROWS)
        .map((c) => `<tr><td>${html(c.package)}</td><td>${html(c.from ?? '–')}</td><td>${html(c.to ?? '–')}</td></tr>`),
      '</tbody></table>',
    );
  }
  parts.push('</section>');
  return parts.join('\n') + note;
}
