/**
 * The kernels of a run, each measured once (issue 19): which kernelspecs its notebooks run with
 * (asked on the main queue, where the snapshot is read), then one probe per kernel on the notebook
 * queue, the primary (most used) first. Never fails the run: a probe's failure is recorded in its
 * environment, an activity's failure is returned for the report, like measureEnvironment's.
 */
import { isCancellation, log, patched, proxyActivities } from '@temporalio/workflow';
import { bookkeepingWork } from '../activityOptions.js';
import type { EnvironmentActivities } from '../../activities/runs/environment.js';
import type { KernelActivities } from '../../activities/runs/kernels.js';
import type { KernelChoice } from '../../domain/runs/kernels.js';
import { NON_RETRYABLE_RECORD_FAILURES } from '../../domain/runs/model.js';
import { failureText } from '../failureText.js';
import { measureEnvironment } from './runRecords.js';

const lister = proxyActivities<KernelActivities>(bookkeepingWork());

/**
 * Why the primary kernel's environment could not be measured at all; undefined when it was.
 * `paths`: the notebooks the run will execute, in the snapshot at `root`.
 */
export async function measureRunEnvironments(
  runId: string,
  root: string,
  paths: string[],
  run: KernelChoice & { notebookTaskQueue: string },
): Promise<string | undefined> {
  const input = { runId, root, paths, notebookTaskQueue: run.notebookTaskQueue, ...kernelChoiceOf(run) };
  // Versioned: histories from before kernels measured only the default kernel, once.
  if (!patched('kernel-probes')) return measureEnvironment(input.runId, input.notebookTaskQueue);
  const probe = proxyActivities<EnvironmentActivities>({
    taskQueue: input.notebookTaskQueue,
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '2s', maximumAttempts: 2, nonRetryableErrorTypes: NON_RETRYABLE_RECORD_FAILURES },
  });
  let kernels: string[];
  try {
    kernels = await lister.runKernels({
      runId,
      root: input.root,
      paths: input.paths,
      ...(input.kernel ? { kernel: input.kernel } : {}),
      ...(input.kernelMap ? { kernelMap: input.kernelMap } : {}),
    });
  } catch (err) {
    if (isCancellation(err)) throw err;
    log.warn('the run kernels were not listed', { runId, error: failureText(err) });
    return failureText(err);
  }
  const errors = await Promise.all(
    kernels.map(async (kernel, i) => {
      try {
        await probe.probeEnvironment.executeWithOptions({ summary: `environment probe: ${kernel}` }, [
          { runId, kernel, primary: i === 0 },
        ]);
        return undefined;
      } catch (err) {
        if (isCancellation(err)) throw err;
        log.warn('a kernel environment was not measured', { runId, kernel, error: failureText(err) });
        return failureText(err);
      }
    }),
  );
  return errors[0];
}

/** A candidate run's kernel choice, as the run's activities take it; nothing for other runs. */
export function kernelChoiceOf(input: KernelChoice): KernelChoice {
  return {
    ...(input.kernel ? { kernel: input.kernel } : {}),
    ...(input.kernelMap && Object.keys(input.kernelMap).length ? { kernelMap: input.kernelMap } : {}),
  };
}
