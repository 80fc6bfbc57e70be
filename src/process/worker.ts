/** The Temporal worker: registers the workflows (bundled from src/workflows) and all activities. */
import type { LogLevel, LogMetadata } from '@temporalio/common';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createAlertActivities } from '../activities/alerts/index.js';
import { createCopyActivities, readyCopyAfterPublish } from '../activities/copies/index.js';
import { ReadyCopies } from '../activities/copies/ready.js';
import { createEnvironmentActivities } from '../activities/runs/environment.js';
import { createNotebookActivities } from '../activities/runs/notebooks.js';
import { createKernelActivities } from '../activities/runs/kernels.js';
import { createCandidateActivities } from '../activities/runs/candidate.js';
import { createHistoryActivities } from '../activities/runs/history.js';
import { publicStatusAfterPublish } from '../activities/runs/public-status.js';
import { createPullRequestActivities } from '../activities/runs/pull-requests.js';
import { createRunActivities } from '../activities/runs/index.js';
import { createContractActivities, taskQueuePollers } from '../activities/runs/contracts.js';
import { createSyncActivities } from '../activities/sync/index.js';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { labelQueue, labelSubsets } from '../domain/runs/contract.js';
import { prTaskQueue } from '../domain/runs/queues.js';
import { prCap } from '../activities/runs/slots.js';
import { WORKFLOWS_PATH, workflowBundle } from './workflow-bundle.js';

export { WORKFLOWS_PATH };

/** `connection`: the worker's own, through which the contracts ask Temporal which label queues have workers. */
export function createActivities(
  config: Config,
  ready: ReadyCopies,
  connection: Pick<NativeConnection, 'workflowService'>,
) {
  const readyCopy = readyCopyAfterPublish(config, ready);
  const publicStatus = publicStatusAfterPublish(config);
  return {
    // After each publish: status.json lists the new snapshot's notebooks; the ready copy follows it.
    ...createSyncActivities(config, async (commit, log, previous) => {
      await publicStatus(commit, log);
      await readyCopy(commit, log, previous);
    }),
    ...createRunActivities(config),
    // Each notebook's contract: reads notebooks and .nblc.yml, asks Temporal which label queues have workers.
    ...createContractActivities(config, taskQueuePollers(connection, config.temporal.namespace)),
    ...createPullRequestActivities(config),
    // Which kernels a run's notebooks use (read from the snapshot), each then probed once.
    ...createKernelActivities(config),
    // A candidate run's baseline: which run, what it ran.
    ...createCandidateActivities(config),
    // recordRun: the store opens on first use (history-store.ts), closed by the stack.
    ...createHistoryActivities(config),
    ...createCopyActivities(config, ready),
    // Alerts and commit statuses: channels and tokens are read from the config here, never
    // passed through workflows.
    ...createAlertActivities(config),
  };
}

/**
 * What every worker of this process shares. Activities that run child processes (git, kernels)
 * end cleanly on shutdown: they get cancelled, then the grace period lets them kill their
 * processes. A cancellation reaches an activity only in a heartbeat response, so heartbeats are
 * sent at least every 3 s: cancelling a run kills its kernels within seconds.
 */
function baseOptions(config: Config, connection: NativeConnection) {
  return {
    connection,
    namespace: config.temporal.namespace,
    identity: config.workerName,
    shutdownGraceTime: '10 seconds',
    maxHeartbeatThrottleInterval: '3 seconds',
  } satisfies Partial<WorkerOptions>;
}

/**
 * Workflows, and the git, file and copy activities. `ready` is the process's ready copy; whoever
 * runs the worker closes it after the worker stopped (stack.ts).
 */
export async function createWorker(
  config: Config,
  connection: NativeConnection,
  overrides: Partial<WorkerOptions> = {},
  ready = new ReadyCopies(config.copies.readyCopy),
): Promise<Worker> {
  return Worker.create({
    ...baseOptions(config, connection),
    taskQueue: config.taskQueue,
    // Built once per source and cached on disk (workflow-bundle.ts), not by webpack at every start.
    ...(overrides.workflowBundle ? {} : { workflowBundle: await workflowBundle() }),
    activities: createActivities(config, ready, connection),
    ...overrides,
  });
}

/**
 * Notebook executions have their own task queue (NBLC_NOTEBOOK_TASK_QUEUE): kernels are heavy,
 * so more hosts can poll it without running the git and file work. This worker takes at most
 * NBLC_TEST_CONCURRENCY notebooks at a time on this host.
 */
export async function createNotebookWorker(
  config: Config,
  connection: NativeConnection,
  overrides: Partial<WorkerOptions> = {},
): Promise<Worker> {
  return Worker.create({
    ...baseOptions(config, connection),
    taskQueue: config.tests.taskQueue,
    // The environment probe runs where the notebooks run: their kernels, their sandbox.
    activities: { ...createNotebookActivities(config), ...createEnvironmentActivities(config) },
    maxConcurrentActivityTaskExecutions: config.tests.concurrency,
    ...overrides,
  });
}

/**
 * The notebook worker and, with NBLC_WORKER_LABELS, one more per subset of its labels, each
 * polling that label set's queue (contract.ts, labelQueue): a notebook that needs `bigmem` runs
 * only here. They share one set of activities, so NBLC_TEST_CONCURRENCY holds for them together.
 */
export async function createNotebookWorkers(
  config: Config,
  connection: NativeConnection,
  overrides: Partial<WorkerOptions> = {},
  /** Not the plain queue: a second worker in a process that polls it already (tests). */
  opts: { labelQueuesOnly?: boolean } = {},
): Promise<Worker[]> {
  const activities = { ...createNotebookActivities(config), ...createEnvironmentActivities(config) };
  const queuesOf = (base: string) => [
    ...(opts.labelQueuesOnly ? [] : [base]),
    ...labelSubsets(config.workerLabels).map((l) => labelQueue(base, l)),
  ];
  // Pull requests' notebooks come on queues of their own, taken NBLC_PR_CONCURRENCY at a time:
  // waiting ones stay in Temporal's queue, never in the slots merge and scheduled runs need.
  const prLimit = prCap(config.tests.concurrency, config.github.prConcurrency);
  const queues = [
    ...queuesOf(config.tests.taskQueue).map((q) => ({ taskQueue: q, max: config.tests.concurrency })),
    ...queuesOf(prTaskQueue(config.tests.taskQueue)).map((q) => ({ taskQueue: q, max: prLimit })),
  ];
  return Promise.all(
    queues.map(({ taskQueue, max }) =>
      Worker.create({
        ...baseOptions(config, connection),
        taskQueue,
        activities,
        maxConcurrentActivityTaskExecutions: max,
        ...overrides,
      }),
    ),
  );
}

let runtimeInstalled = false;

/**
 * Routes the SDK's own logs (worker state, activity failures) through our pino logger, once per
 * process. The SDK's bundler logs at INFO are debug-level noise for an operator.
 */
export function installRuntime(logger: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const sdk = logger.child({ component: 'temporal-sdk' });
  const levels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
    TRACE: 'trace',
    DEBUG: 'debug',
    INFO: 'debug',
    WARN: 'warn',
    ERROR: 'error',
  };
  const log = (level: LogLevel, message: string, meta?: LogMetadata) =>
    // The notebook worker has no workflows by design.
    sdk[message.startsWith('No workflows registered') ? 'debug' : levels[level]](meta ?? {}, message);
  Runtime.install({
    logger: {
      log,
      trace: (m, meta) => log('TRACE', m, meta),
      debug: (m, meta) => log('DEBUG', m, meta),
      info: (m, meta) => log('INFO', m, meta),
      warn: (m, meta) => log('WARN', m, meta),
      error: (m, meta) => log('ERROR', m, meta),
    },
    // Signals are handled by the stack, which stops the API and the embedded server too.
    shutdownSignals: [],
  });
}
