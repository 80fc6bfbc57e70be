/**
 * How a test run executes its notebooks: lanes that take them off a shared queue, and each
 * notebook's executions (retries for `retries`, infrastructure failures reported as results).
 */
import { ActivityFailure, type ActivityInterfaceFor, isCancellation } from '@temporalio/workflow';
import type { NotebookActivities, RunNotebookInput } from '../../activities/runs/notebooks.js';
import type { NotebookSummary, TestRunCarry } from '../../domain/runs/model.js';

export type Executor = ActivityInterfaceFor<NotebookActivities>;

export interface Lanes {
  /** Taken from the front; what is left when the history is full goes to the next run. */
  queue: string[];
  concurrency: number;
  historyFull: () => boolean;
  running: Set<string>;
  done: Map<string, NotebookSummary>;
  execute: (nbPath: string) => Promise<NotebookSummary>;
  onStart: () => void;
  onDone: () => void;
}

/**
 * `concurrency` lanes, each executing one notebook at a time off the shared queue, until it is
 * empty or the history is full (then nothing is in flight when the run continues as new).
 */
export function runLanes(l: Lanes): Promise<void[]> {
  const lane = async () => {
    while (l.queue.length > 0 && !l.historyFull()) {
      const nbPath = l.queue.shift()!;
      l.running.add(nbPath);
      l.onStart();
      try {
        l.done.set(nbPath, await l.execute(nbPath));
      } finally {
        l.running.delete(nbPath);
      }
      l.onDone();
    }
  };
  return Promise.all(Array.from({ length: Math.min(l.concurrency, l.queue.length) }, lane));
}

/**
 * Executes a notebook up to `attempts` times until it passes (`retries`: each one is an
 * activity of its own, visible in the history).
 */
export async function executeWithRetries(
  executor: Executor,
  run: Omit<RunNotebookInput, 'path' | 'attempt'>,
  nbPath: string,
  attempts: number,
): Promise<NotebookSummary> {
  let last: NotebookSummary | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      last = await executor.runNotebook.executeWithOptions({ summary: nbPath }, [
        {
          runId: run.runId,
          root: run.root,
          path: nbPath,
          attempt,
          cellTimeoutS: run.cellTimeoutS,
          notebookTimeoutS: run.notebookTimeoutS,
        },
      ]);
    } catch (err) {
      if (isCancellation(err) || !(err instanceof ActivityFailure)) throw err;
      // Infrastructure kept failing (worker lost, executor crashing): report, don't stall the run.
      last = { path: nbPath, status: 'kernel_died', durationMs: 0, attempts: attempt };
    }
    if (last.status === 'passed') return last;
  }
  return last!;
}

/** Every path of the run in its sorted order (the carried `remaining` shrinks across runs). */
export function allPaths(run: TestRunCarry, done: Map<string, NotebookSummary>): string[] {
  return [...new Set([...done.keys(), ...run.remaining])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
