/**
 * report.html's opening for a candidate run (issue 19): the package diff between the baseline's
 * environment and this one (the packages the newly failing notebooks' tracebacks name first),
 * then the verdicts: newly failing by root cause, fixed, still failing for another cause, only
 * here. Package names, versions and causes come from kernels: the template escapes them.
 */
import { VERDICTS, type RunComparison } from '../../../domain/runs/comparison.js';
import type { TestReport } from '../../../domain/runs/model.js';
import { plural } from '../../../domain/runs/status.js';
import { h, type Html } from '../../template.js';

const MAX_ROWS = 200;

export const COMPARISON_CSS = `
section.comparison { border-left-color: #8250df; }
section.comparison table { border-collapse: collapse; margin: 6px 0; }
section.comparison td, section.comparison th { padding: 2px 12px 2px 0; text-align: left; font-family: ui-monospace, monospace; font-size: 13px; }
section.comparison tr.named td { font-weight: bold; }
`;

/** The comparison, or nothing for runs that are not candidate runs. */
export function comparisonSection(report: TestReport): Html | '' {
  const c: RunComparison | undefined = report.comparison;
  if (!c) return '';
  const rows = c.packages
    .slice(0, MAX_ROWS)
    .map(
      (p) =>
        h`<tr class="${p.named ? 'named' : ''}"><td>${p.package}</td><td>${p.from ?? '(none)'}</td><td>→</td><td>${p.to ?? '(none)'}</td><td>${p.named ? `named by ${plural(p.named, 'failure')}` : ''}</td></tr>`,
    );
  const packages = c.packages.length
    ? h`<table><tr><th>package</th><th>from</th><th></th><th>to</th><th></th></tr>${rows}</table>`
    : h`<p>${c.packagesMissing ? `Packages unknown: ${c.packagesMissing}.` : 'No package changed.'}</p>`;
  const counts = VERDICTS.filter((v) => c.counts[v] > 0).map((v) => `${c.counts[v]} ${v}`);
  const groups = c.newlyFailing.map(
    (g) =>
      h`<h3>Newly failing, ${plural(g.notebooks.length, 'notebook')}: <code>${g.cause}</code></h3><ul>${g.notebooks.map((p) => h`<li>${p}</li>`)}</ul>`,
  );
  const others = (['fixed', 'still failing (other cause)', 'only here'] as const).map((v) => {
    const nbs = c.notebooks.filter((n) => n.verdict === v);
    return nbs.length
      ? h`<h3>${v[0]!.toUpperCase()}${v.slice(1)} (${nbs.length})</h3><ul>${nbs.map((n) => h`<li>${n.path}${n.cause ? h` — <code>${n.cause}</code>` : ''}</li>`)}</ul>`
      : '';
  });
  return h`<section class="changes comparison" id="comparison"><h2>Candidate kernel <code>${c.kernel ?? '?'}</code> against ${c.baseline.kind} run <code>${c.baseline.runId}</code> (<code>${c.baseline.kernel ?? '?'}</code>)</h2>
<p>Package changes from the baseline's environment to this one${c.packages.length > MAX_ROWS ? ` (the first ${MAX_ROWS}; all in report.json)` : ''}:</p>
${packages}
<p>Verdicts: ${counts.join(', ') || 'no notebooks'}.</p>
${groups}${others}
</section>`;
}
