/**
 * A candidate run's report against its baseline's (issue 19): reads the baseline's report.json
 * (activities/runs/candidate.ts) and compares (src/domain/runs/comparison.ts, pure). The
 * environments compared are the two runs' primary kernels' (`environment`).
 */
import { compareRuns, type RunComparison } from '../../../domain/runs/comparison.js';
import type { TestReport } from '../../../domain/runs/model.js';
import { readBaseline } from '../candidate.js';

export async function compareWithBaseline(
  resultsDir: string,
  baseline: string,
  report: TestReport,
): Promise<RunComparison> {
  return compareRuns(await readBaseline(resultsDir, baseline), {
    runId: report.runId,
    kind: report.kind,
    commit: report.commit,
    notebooks: report.notebooks,
    ...(report.environment ? { environment: report.environment } : {}),
  });
}

/** What the workflow's result carries of it: not the `same` notebooks, at most 50 packages. */
export function compactComparison(c: RunComparison): RunComparison {
  return {
    ...c,
    notebooks: c.notebooks.filter((n) => n.verdict !== 'same'),
    notRun: c.notRun.slice(0, 50),
    packages: c.packages.slice(0, 50),
  };
}
