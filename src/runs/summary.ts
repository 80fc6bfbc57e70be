/**
 * A finished test run as text (`nblc test --wait`, the demo): its root causes first (what to
 * fix), then a table of every notebook and the counts.
 */
import { causeLine } from './causes.js';
import type { TestRunResult } from './model.js';

export function summaryText(r: TestRunResult): string {
  const lines: string[] = [];
  if (r.causes?.length) {
    lines.push('root causes:', ...r.causes.map((c) => `  ${causeLine(c)}`), '');
  }
  const rows = r.notebooks.map((n) => [
    n.status + (n.flaky ? ' (flaky)' : ''),
    `${(n.durationMs / 1000).toFixed(1)}s`,
    n.path,
  ]);
  const w0 = Math.max(6, ...rows.map((x) => x[0]!.length));
  const w1 = Math.max(8, ...rows.map((x) => x[1]!.length));
  lines.push(`${'status'.padEnd(w0)}  ${'duration'.padStart(w1)}  notebook`);
  for (const [s, d, p] of rows) lines.push(`${s!.padEnd(w0)}  ${d!.padStart(w1)}  ${p}`);
  const c = r.counts;
  lines.push(
    '',
    `${c.passed} passed, ${c.total - c.passed} not passed of ${c.total} (commit ${r.commit.slice(0, 12)})`,
  );
  if (r.newlyFailing.length) lines.push(`newly failing: ${r.newlyFailing.join(', ')}`);
  if (r.fixed.length) lines.push(`fixed: ${r.fixed.join(', ')}`);
  lines.push(`report: ${r.reportDir}/report.html`);
  // Alerts that did not reach a channel (the others went out; see README "Alerts").
  for (const a of r.alerts ?? []) if (!a.ok) lines.push(`alert ${a.alert} to ${a.channel} failed: ${a.error}`);
  return lines.join('\n');
}
