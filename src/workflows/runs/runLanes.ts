/**
 * How a test run executes its notebooks: lanes that take them off a shared queue, and each
 * notebook's executions (retries for `retries`, infrastructure failures reported as results).
 */
import {
  ActivityFailure,
  type ActivityInterfaceFor,
  isCancellation,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import { prTaskQueue } from '../../domain/runs/queues.js';
import type { NotebookActivities, RunNotebookInput } from '../../activities/runs/notebooks.js';
import type { NotebookPlan } from '../../domain/runs/contract.js';
import {
  INFRA_ATTEMPTS,
  type NotebookSummary,
  type TestRunCarry,
  type TestRunInput,
  type TestRunQueues,
} from '../../domain/runs/model.js';

export type Executor = ActivityInterfaceFor<NotebookActivities>;

/**
 * Where the run's notebooks go: a pull request's to their own task queue, which notebook workers
 * take NBLC_PR_CONCURRENCY at a time (queues.ts). Versioned: runs from before keep the one queue.
 */
export function notebookQueue(input: TestRunInput & TestRunQueues): string {
  return input.kind === 'pr' && patched('pr-task-queue')
    ? prTaskQueue(input.notebookTaskQueue)
    : input.notebookTaskQueue;
}

/**
 * The executor of a notebook: one per task queue and budget, since a notebook's contract may
 * give it its own of both (a label queue, a longer timeout); the run's own otherwise.
 */
export function notebookExecutors(taskQueue: string, timeoutS: number): (plan?: NotebookPlan) => Executor {
  const executors = new Map<string, Executor>();
  return (plan) => {
    const queue = plan?.taskQueue ?? taskQueue;
    const budget = plan?.timeoutS ?? timeoutS;
    const key = `${queue}\n${budget}`;
    let executor = executors.get(key);
    if (!executor) {
      executor = proxyActivities<NotebookActivities>({
        taskQueue: queue,
        // Kernel start and writing the artifact on top of the notebook's own budget.
        startToCloseTimeout: `${Math.ceil(budget + 300)} seconds`,
        heartbeatTimeout: '30 seconds',
        retry: {
          initialInterval: '2s',
          backoffCoefficient: 2,
          maximumInterval: '30s',
          maximumAttempts: INFRA_ATTEMPTS,
        },
      });
      executors.set(key, executor);
    }
    return executor;
  };
}

const DEFAULT_MAX_HISTORY_EVENTS = 10_000;

/** When the lanes stop taking notebooks: Temporal suggests continuing as new, or `maxEvents`. */
export function historyFull(maxEvents = DEFAULT_MAX_HISTORY_EVENTS): () => boolean {
  return () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength >= maxEvents;
}

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
          // The notebook's contract (contract.ts); absent for runs from before it and for most notebooks.
          ...(run.memory !== undefined ? { memory: run.memory } : {}),
          ...(run.allowErrors ? { allowErrors: true } : {}),
          ...(run.parameters ? { parameters: run.parameters } : {}),
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

/**
 * Executes a notebook with its contract's settings (contract.ts) over the run's: its own
 * executor, timeouts, memory, errors allowed, parameters and retries.
 */
export function executePlanned(
  executorFor: (plan?: NotebookPlan) => Executor,
  run: Omit<RunNotebookInput, 'path' | 'attempt'> & { retries?: number },
  nbPath: string,
  plan: NotebookPlan | undefined,
): Promise<NotebookSummary> {
  const { retries, parameters, ...request } = run;
  return executeWithRetries(
    executorFor(plan),
    {
      ...request,
      ...(plan?.cellTimeoutS !== undefined ? { cellTimeoutS: plan.cellTimeoutS } : {}),
      ...(plan?.timeoutS !== undefined ? { notebookTimeoutS: plan.timeoutS } : {}),
      ...(plan?.memory !== undefined ? { memory: plan.memory } : {}),
      ...(plan?.allowErrors ? { allowErrors: true } : {}),
      ...(plan?.parameters && parameters ? { parameters } : {}),
    },
    nbPath,
    1 + Math.max(0, plan?.retries ?? retries ?? 0),
  );
}

/** Every path of the run in its sorted order (the carried `remaining` shrinks across runs). */
export function allPaths(run: TestRunCarry, done: Map<string, NotebookSummary>): string[] {
  return [...new Set([...done.keys(), ...run.remaining])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
