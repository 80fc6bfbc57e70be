/** A finished test run as a terminal table with its counts (`nblc test --wait`, the demo). */
import type { TestRunResult } from './model.js';

export function summaryText(r: TestRunResult): string {
  const rows = r.notebooks.map((n) => [
    n.status + (n.flaky ? ' (flaky)' : ''),
    `${(n.durationMs / 1000).toFixed(1)}s`,
    n.path,
  ]);
  const w0 = Math.max(6, ...rows.map((x) => x[0]!.length));
  const w1 = Math.max(8, ...rows.map((x) => x[1]!.length));
  const lines = [`${'status'.padEnd(w0)}  ${'duration'.padStart(w1)}  notebook`];
  for (const [s, d, p] of rows) lines.push(`${s!.padEnd(w0)}  ${d!.padStart(w1)}  ${p}`);
  const c = r.counts;
  lines.push(
    '',
    `${c.passed} passed, ${c.total - c.passed} not passed of ${c.total} (commit ${r.commit.slice(0, 12)})`,
  );
  if (r.newlyFailing.length) lines.push(`newly failing: ${r.newlyFailing.join(', ')}`);
  if (r.fixed.length) lines.push(`fixed: ${r.fixed.join(', ')}`);
  lines.push(`report: ${r.reportDir}/report.html`);
  return lines.join('\n');
}
