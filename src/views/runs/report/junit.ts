/**
 * junit.xml: one <testsuite> per run, one <testcase> per notebook, in the shape CI tools
 * (Jenkins, GitLab, GitHub test reporters) read. `failed` / `needs_input` are <failure>s (the
 * notebook's code raised); the other non-passing statuses are <error>s (it could not be run to
 * the end).
 */
import type { NotebookResult, TestReport } from '../../../domain/runs/model.js';
import { cellName, elapsedMs, FAILURE_STATUSES, problemErrors, seconds, splitPath, xmlAttr, xmlText } from './text.js';

export function renderJunit(report: TestReport): string {
  const c = report.counts;
  const failures = c.failed + c.needs_input;
  const errors = c.timed_out + c.kernel_died + c.no_such_kernel + c.invalid_notebook + c.out_of_memory;
  const time = seconds(elapsedMs(report.startedAt, report.finishedAt));
  const totals = `tests="${c.total}" failures="${failures}" errors="${errors}" skipped="0" time="${time}"`;
  const suiteName = `nblc ${report.kind} ${report.commit.slice(0, 7)}`;

  const props: Array<[string, string]> = [
    ['runId', report.runId],
    ['commit', report.commit],
    ['kind', report.kind],
    ['startedAt', report.startedAt],
    ['finishedAt', report.finishedAt],
    ...(report.previousRunId ? [['previousRunId', report.previousRunId] as [string, string]] : []),
    ...(report.temporalUiUrl ? [['temporalUiUrl', report.temporalUiUrl] as [string, string]] : []),
    ...(report.unsandboxed ? [['unsandboxed', String(report.unsandboxed)] as [string, string]] : []),
  ];

  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="nblc" ${totals}>`,
    `  <testsuite name="${xmlAttr(suiteName)}" ${totals} timestamp="${xmlAttr(report.startedAt)}">`,
    '    <properties>',
    ...props.map(([k, v]) => `      <property name="${k}" value="${xmlAttr(v)}"/>`),
    '    </properties>',
    ...report.notebooks.map(testcase),
    '  </testsuite>',
    '</testsuites>',
    '',
  ];
  return out.join('\n');
}

/** `classname` = the folder with dots (CI tools show it as a package tree), `(root)` at the top. */
export function junitClassname(nbPath: string): string {
  const { dir } = splitPath(nbPath);
  return dir ? dir.replace(/\//g, '.') : '(root)';
}

function testcase(nb: NotebookResult): string {
  const head = `    <testcase classname="${xmlAttr(junitClassname(nb.path))}" name="${xmlAttr(splitPath(nb.path).name)}" time="${seconds(nb.durationMs)}"`;
  const body: string[] = [];
  if (nb.status !== 'passed') {
    // The first unexpected error in full; later ones (mostly its consequences) one line each.
    const [first, ...later] = problemErrors(nb);
    const details = [
      nb.message,
      first ? first.traceback || `${first.ename}: ${first.evalue}` : null,
      later.length
        ? [
            `then ${later.length} later error${later.length === 1 ? '' : 's'}:`,
            ...later.map((e) => `  ${cellName(e.cell)}: ${e.ename}: ${e.evalue.split('\n', 1)[0]}`),
          ].join('\n')
        : null,
    ]
      .filter((s): s is string => !!s)
      .join('\n\n');
    if (FAILURE_STATUSES.has(nb.status)) {
      const message = first ? `${first.ename}: ${first.evalue}` : (nb.message ?? nb.status);
      const type = first?.ename || nb.status;
      body.push(`      <failure message="${xmlAttr(message)}" type="${xmlAttr(type)}">${xmlText(details)}</failure>`);
    } else {
      const message = nb.message ?? nb.status;
      body.push(`      <error message="${xmlAttr(message)}" type="${nb.status}">${xmlText(details)}</error>`);
    }
  }
  const notes = [
    nb.flaky ? `flaky: failed first, passed on attempt ${nb.attempts}` : null,
    !nb.flaky && nb.attempts > 1 ? `attempts: ${nb.attempts}` : null,
  ].filter((s): s is string => !!s);
  if (notes.length) body.push(`      <system-out>${xmlText(notes.join('\n'))}</system-out>`);
  return body.length ? `${head}>\n${body.join('\n')}\n    </testcase>` : `${head}/>`;
}
