/**
 * A finished test run as text (`nblc test --wait`, the demo): its root causes first (what to
 * fix), then a table of every notebook and the counts.
 */
import { causeLine } from './causes.js';
import { changeText, PYTHON_ROW } from './environment.js';
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
  for (const c of r.newlyFailingChanges ?? []) lines.push(`  ${c.path}: ${changeText(c)}`);
  if (r.fixed.length) lines.push(`fixed: ${r.fixed.join(', ')}`);
  lines.push(...environmentLines(r));
  lines.push(`report: ${r.reportDir}/report.html`);
  // Alerts that did not reach a channel (the others went out; see README "Alerts").
  for (const a of r.alerts ?? []) if (!a.ok) lines.push(`alert ${a.alert} to ${a.channel} failed: ${a.error}`);
  return lines.join('\n');
}

/** The environment in a line, then its changes since the previous measured run, one a line. */
function environmentLines(r: TestRunResult): string[] {
  const env = r.environment;
  if (!env) return [];
  if (env.error || !env.fingerprint) return [`environment: ${env.error ?? 'not measured'}`];
  const lines = [`environment: Python ${env.python ?? '?'}, ${env.packages} packages, ${env.fingerprint.slice(0, 12)}`];
  const changes = r.environmentChanges;
  if (!r.environmentComparedWith || !changes) return lines;
  if (!changes.length) return [...lines, `  unchanged since ${r.environmentComparedWith}`];
  const total = r.environmentChangeCount ?? changes.length;
  lines.push(`  ${total} change${total === 1 ? '' : 's'} since ${r.environmentComparedWith}:`);
  for (const c of changes) {
    const what = c.package === PYTHON_ROW ? 'Python' : c.package;
    const change = c.from === null ? `added ${c.to}` : c.to === null ? `removed ${c.from}` : `${c.from} → ${c.to}`;
    lines.push(`    ${what}: ${change}`);
  }
  if (total > changes.length) lines.push(`    … and ${total - changes.length} more in report.json`);
  return lines;
}
