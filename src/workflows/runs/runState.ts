/**
 * What a test run knows about itself while it runs, and how it shows it: the progress query
 * and the current details in Temporal's UI. The steps of testNotebooks.ts change it; nothing
 * here is a command, so nothing here touches the run's history.
 */
import { setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  clampRunOptions,
  isFailing,
  runIdFromWorkflowId,
  type NotebookSummary,
  type TestRunCarry,
  type TestRunInput,
  type TestRunProgress,
  type TestRunQueues,
} from '../../domain/runs/model.js';
import { progressQuery } from '../../domain/runs/messages.js';

export interface TestRunState {
  input: TestRunInput & TestRunQueues;
  runId: string;
  /** What the run carries into its next run when it continues as new; set once it is prepared. */
  carry?: TestRunCarry;
  /** Set during `prepare` once the snapshot is pinned (or the PR's exported): what a run
   * cancelled before its carry exists lets go of ('release-cancelled-early'). */
  prepared?: Pick<TestRunCarry, 'commit' | 'statuses' | 'skipped'>;
  /** A cancellation before the carry released `prepared` (its PR snapshot goes too). */
  releasedEarly?: boolean;
  phase: TestRunProgress['phase'];
  running: Set<string>;
  done: Map<string, NotebookSummary>;
  /** Lines for the current details: the alert deliveries that failed. */
  notifyProblems: string[];
  /** The notebooks that did not pass, so far. */
  failures(): NotebookSummary[];
  /** Writes the current details (Temporal's UI) from the state. */
  describe(): void;
}

/**
 * Opens a run's state from its start input (or what the previous run carried) and answers the
 * progress query from it.
 */
export function openRun(requested: TestRunInput & TestRunQueues): TestRunState {
  // Clients check RUN_LIMITS already; a start that went around them (or an older client) must
  // still not give the workflow an invalid duration, which would fail its task forever with the
  // snapshot pinned. Values within the limits come back unchanged, so histories replay as before.
  const input = clampRunOptions(requested);
  const carry = input.carry;
  const run: TestRunState = {
    input,
    runId: carry?.runId ?? runIdFromWorkflowId(workflowInfo().workflowId),
    carry,
    phase: carry ? 'running' : 'discovering',
    running: new Set<string>(),
    done: new Map<string, NotebookSummary>((carry?.done ?? []).map((s) => [s.path, s])),
    notifyProblems: [],
    failures: () => [...run.done.values()].filter((s) => isFailing(s.status)),
    describe: () =>
      setCurrentDetails(
        [
          `**${input.kind} test run** of \`${run.carry?.commit.slice(0, 12) ?? '…'}\`: ${run.phase}`,
          `${run.done.size}/${run.carry?.total ?? '?'} done, ${run.failures().length} not passed`,
          ...(run.running.size ? [`running: ${[...run.running].join(', ')}`] : []),
          ...run
            .failures()
            .slice(0, 20)
            .map((f) => `- ${f.status}: ${f.path}`),
          ...run.notifyProblems,
        ].join('\n\n'),
      ),
  };
  setHandler(progressQuery, () => ({
    runId: run.runId,
    kind: input.kind,
    commit: run.carry?.commit ?? null,
    phase: run.phase,
    total: run.carry?.total ?? 0,
    done: run.done.size,
    failed: run.failures().length,
    running: [...run.running],
    failures: run.failures().map((f) => ({ path: f.path, status: f.status })),
  }));
  return run;
}
