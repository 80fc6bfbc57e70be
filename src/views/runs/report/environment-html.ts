/**
 * report.html's environment provenance: the environment the run ran in (Python, package count,
 * fingerprint, or why it was not measured), its changes since the previous measured run, and
 * why each newly failing notebook fails (what changed since it last passed). Package names and
 * versions come from the kernel: the template escapes them like everything else.
 */
import { changeText, type NewlyFailingChange } from '../../../domain/runs/environment.js';
import type { TestReport } from '../../../domain/runs/model.js';
import { plural } from '../../../domain/runs/status.js';
import { h, type Html } from '../../template.js';
import { environmentChangesTable } from '../environment.js';

/** Rows shown; the rest are in report.json. */
const MAX_ROWS = 200;

export const ENVIRONMENT_CSS = `
section.environment { border-left-color: #0969da; }
section.environment table { border-collapse: collapse; margin: 6px 0; }
section.environment td, section.environment th { padding: 2px 12px 2px 0; text-align: left; font-family: ui-monospace, monospace; font-size: 13px; }
.why { color: var(--muted); }
`;

/** " — the notebook changed since it last passed (…)" for a newly failing notebook's line. */
export function whyHtml(report: TestReport, path: string): Html | '' {
  const c: NewlyFailingChange | undefined = report.newlyFailingChanges?.find((x) => x.path === path);
  return c ? h` <span class="why">— ${changeText(c)}</span>` : '';
}

/** The environment the run ran in and its changes since the previous measured run. */
export function environmentSection(report: TestReport): Html | '' {
  const env = report.environment;
  const note = report.historyError ? h`<p class="note">${report.historyError}</p>` : '';
  if (!env) return note;
  if (env.error || !env.fingerprint) {
    const why = env.error ?? 'not measured';
    return h`<section class="changes environment" id="environment"><h2>Environment</h2><p>Kernel <code>${env.kernel}</code>: ${why}</p></section>${note}`;
  }
  const n = Object.keys(env.packages).length;
  const changes = report.environmentChanges;
  const prev = report.environmentComparedWith;
  const body =
    !prev || !changes
      ? h`<p class="note">No earlier measured environment to compare with.</p>`
      : !changes.length
        ? h`<p>Unchanged since run <code>${prev}</code>.</p>`
        : h`<p>${plural(changes.length, 'change')} since run <code>${prev}</code>${changes.length > MAX_ROWS ? ` (the first ${MAX_ROWS}; all in report.json)` : ''}:</p>
${environmentChangesTable(changes, MAX_ROWS)}`;
  return h`<section class="changes environment" id="environment"><h2>Environment</h2>
<p>Kernel <code>${env.kernel}</code>, Python ${env.python ?? '?'}, ${n} packages, fingerprint <code>${env.fingerprint.slice(0, 16)}</code>.</p>
${body}
</section>${note}${kernelsSection(report)}`;
}

/** Every kernel the run used (more than one: notebooks asking for other kernelspecs), each measured once. */
export function kernelsSection(report: TestReport): Html | '' {
  const envs = report.environments ?? [];
  if (envs.length < 2) return '';
  const changes = new Map((report.kernelChanges ?? []).map((k) => [k.kernel, k]));
  const since = (kernel: string) => {
    const k = changes.get(kernel);
    if (!k?.comparedWith) return 'nothing earlier to compare with';
    return k.changes.length
      ? `${plural(k.changes.length, 'change')} since ${k.comparedWith}`
      : `unchanged since ${k.comparedWith}`;
  };
  const rows = envs.map(
    (e) =>
      h`<tr><td>${e.kernel}</td><td>${e.python ?? '?'}</td><td>${e.fingerprint ? Object.keys(e.packages).length : ''}</td><td>${e.fingerprint?.slice(0, 16) ?? e.error ?? 'not measured'}</td><td>${since(e.kernel)}</td></tr>`,
  );
  return h`<section class="changes environment" id="kernels"><h2>Kernels (${envs.length})</h2>
<table><tr><th>kernel</th><th>Python</th><th>packages</th><th>fingerprint</th><th>changes</th></tr>${rows}</table>
</section>`;
}
