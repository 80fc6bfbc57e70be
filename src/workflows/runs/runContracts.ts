/**
 * The contracts step of a test run (issue 18): each notebook's `metadata.nblc`, `.nblc.yml` and
 * the ecosystem's keys decide what it runs with and which notebooks are not run. Read once per
 * run, before its notebooks, on the bookkeeping side (src/activities/runs/contracts.ts).
 */
import { patched, proxyActivities } from '@temporalio/workflow';
import { bookkeepingWork } from '../activityOptions.js';
import type { ContractActivities } from '../../activities/runs/contracts.js';
import type { TestRunInput, TestRunQueues } from '../../domain/runs/model.js';
import { notebookQueue } from './runLanes.js';

const contracts = proxyActivities<ContractActivities>(bookkeepingWork());

/**
 * The contracts of `paths`, or undefined when there is nothing to run or the history is from
 * before contracts (versioned: `notebook-contracts`, asked only when there are notebooks, as
 * the recorded histories did).
 */
export async function applyRunContracts(
  runId: string,
  root: string,
  paths: string[],
  input: TestRunInput & TestRunQueues,
): Promise<Awaited<ReturnType<ContractActivities['applyContracts']>> | undefined> {
  if (paths.length === 0 || !patched('notebook-contracts')) return undefined;
  return contracts.applyContracts({
    runId,
    root,
    paths,
    notebookTaskQueue: notebookQueue(input),
    notebookTimeoutS: input.notebookTimeoutS,
    cellTimeoutS: input.cellTimeoutS,
    retries: input.retries,
    parameters: input.parameters,
  });
}
