/**
 * The notebooks' contracts for a run (src/domain/runs/contract.ts): reads each notebook's
 * metadata and the repository's `.nblc.yml`, decides what each runs with, records the notebooks
 * that are not run (skipped, invalid contract) as their results, and keeps every notebook's
 * settings with their sources beside the report (settings.json).
 */
import type { NativeConnection } from '@temporalio/worker';
import path from 'node:path';
import {
  CONTRACT_FILE,
  labelQueue,
  parseContractFile,
  planOf,
  resolveSettings,
  skipReason,
  type ContractFile,
  type NotebookDeclarations,
  type NotebookPlan,
  type NotebookSettings,
  type SettingDefaults,
} from '../../domain/runs/contract.js';
import type { Config } from '../../platform/config.js';
import type { NotebookStatus, NotebookSummary } from '../../domain/runs/model.js';
import { mapLimit, writeFileAtomic } from '../files.js';
import { ownRunDir } from './notebooks.js';
import { snapshotRootOf } from './run-record.js';
import { readNotebookCells } from './notebook-file.js';
import { readTextOrNull } from '../../platform/capped-read.js';
import { checkRelativePath, checkRunId, realComponents, safeOutputPath } from '../untrusted.js';
import { CATALOG_FILE, READ_CONCURRENCY, SETTINGS_FILE, unexecutedResult } from '../../domain/runs/run-dir.js';
import { HEADER_CELLS, parseHeader, type NotebookHeader } from '../../domain/runs/catalog.js';

/** `.nblc.yml` is a few settings: one larger than this is not read (like .nblcignore's cap). */
const MAX_CONTRACT_FILE_BYTES = 64 * 2 ** 10;

export interface ApplyContractsInput {
  runId: string;
  root: string;
  paths: string[];
  notebookTaskQueue: string;
  /** The run's own values (its options), under each notebook's and its folder's. */
  notebookTimeoutS?: number;
  cellTimeoutS?: number;
  retries?: number;
  parameters?: Record<string, string>;
}

export interface AppliedContracts {
  /** The notebooks that are not run, already recorded as results. */
  notRun: NotebookSummary[];
  /** The notebooks to run with settings of their own. */
  plans: Record<string, NotebookPlan>;
}

export type ContractConfig = Pick<Config, 'resultsDir' | 'cacheDir' | 'tests' | 'sandbox'>;

/** `hasWorkers`: whether a task queue has a worker polling it (taskQueuePollers). */
export function createContractActivities(cfg: ContractConfig, hasWorkers: (queue: string) => Promise<boolean>) {
  return {
    async applyContracts(input: ApplyContractsInput): Promise<AppliedContracts> {
      // The input is a stranger's: the run's root is computed here, every path checked.
      const runId = checkRunId(input.runId);
      const { root } = await snapshotRootOf(cfg, runId, input.root);
      const paths = (Array.isArray(input.paths) ? input.paths : []).map((p) => checkRelativePath(p, 'paths'));
      const runDir = await ownRunDir(cfg.resultsDir, runId);
      const fileText = await readContractFile(root);
      const parsedFile = fileText === null ? { file: undefined } : parseContractFile(fileText);
      const run = {
        timeoutS: input.notebookTimeoutS ?? cfg.tests.notebookTimeoutS,
        cellTimeoutS: input.cellTimeoutS ?? cfg.tests.cellTimeoutS,
        retries: input.retries ?? 0,
        memory: cfg.sandbox.notebookMemory,
        taskQueue: input.notebookTaskQueue,
      };
      const defaults: SettingDefaults = {
        timeoutS: { value: run.timeoutS, source: input.notebookTimeoutS ? 'the run' : 'NBLC_NOTEBOOK_TIMEOUT' },
        cellTimeoutS: { value: run.cellTimeoutS, source: input.cellTimeoutS ? 'the run' : 'NBLC_CELL_TIMEOUT' },
        retries: { value: run.retries, source: input.retries !== undefined ? 'the run' : 'default' },
        memory: { value: run.memory, source: 'NBLC_NOTEBOOK_MEMORY' },
        memoryMax: cfg.sandbox.notebookMemoryMax,
        parameters: input.parameters,
      };
      const now = Date.now();
      const queues = new Map<string, Promise<boolean>>();
      const settings: Record<string, NotebookSettings> = {};
      const notRun: NotebookSummary[] = [];
      const plans: Record<string, NotebookPlan> = {};
      const catalog: Record<string, NotebookHeader> = {};
      await mapLimit(paths, READ_CONCURRENCY, async (nbPath) => {
        const record = async (status: NotebookStatus, message: string) => {
          await writeResult(runDir, nbPath, status, message);
          notRun.push({ path: nbPath, status, durationMs: 0, attempts: 0 });
        };
        if ('error' in parsedFile) return record('invalid_notebook', parsedFile.error);
        // A notebook behind a link is not read here (runNotebook refuses it too).
        const real = await realComponents(root, nbPath, 'paths', true).then(
          () => true,
          () => false,
        );
        const declared = real ? await readDeclarations(path.join(root, nbPath)) : null;
        if (!declared) return; // not JSON, or not a file: the executor reports it
        if (Object.keys(declared.header).length) catalog[nbPath] = declared.header;
        const s = resolveSettings(nbPath, declared, parsedFile.file as ContractFile | undefined, defaults);
        if ('invalid' in s) return record('invalid_notebook', s.invalid);
        settings[nbPath] = s;
        const why = skipReason(s, now);
        if (why) return record('skipped', why);
        if (s.needs.length) {
          const queue = labelQueue(input.notebookTaskQueue, s.needs);
          if (!queues.has(queue)) queues.set(queue, hasWorkers(queue));
          if (!(await queues.get(queue)))
            return record('skipped', `no worker has ${s.needs.join(', ')} (NBLC_WORKER_LABELS)`);
        }
        const plan = planOf(s, run);
        if (plan) plans[nbPath] = plan;
      });
      await writeFileAtomic(path.join(runDir, SETTINGS_FILE), JSON.stringify(sortedKeys(settings), null, 1));
      await writeFileAtomic(path.join(runDir, CATALOG_FILE), JSON.stringify(sortedKeys(catalog), null, 1));
      notRun.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      return { notRun, plans: sortedKeys(plans) };
    },
  };
}

export type ContractActivities = ReturnType<typeof createContractActivities>;

/** The same object, keys in code-point order: the same input gives the same bytes and history. */
function sortedKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** `.nblc.yml` at the snapshot's root: a regular file (no link followed), else none. */
async function readContractFile(root: string): Promise<string | null> {
  return readTextOrNull(path.join(root, CONTRACT_FILE), MAX_CONTRACT_FILE_BYTES);
}

/**
 * A notebook's metadata, whether a code cell is tagged `parameters`, and its header cell's fields
 * (catalog.ts); null when it cannot be read as JSON.
 */
async function readDeclarations(file: string): Promise<(NotebookDeclarations & { header: NotebookHeader }) | null> {
  const nb = await readNotebookCells(file);
  if (!nb) return null;
  const code = nb.cells.filter((c) => c.cell_type === 'code');
  return {
    metadata: nb.metadata,
    hasParametersCell: code.some((c) => c.tags.includes('parameters')),
    header: parseHeader(code.slice(0, HEADER_CELLS).map((c) => c.source)),
  };
}

/** A notebook that is not run, as the report reads results: its status and why. */
async function writeResult(runDir: string, nbPath: string, status: NotebookStatus, message: string): Promise<void> {
  const result = unexecutedResult(nbPath, status, message);
  const file = await safeOutputPath(runDir, `results/${nbPath}.json`, 'paths');
  await writeFileAtomic(file, JSON.stringify(result, null, 1));
}

/**
 * Whether a worker polls the queue, from Temporal's view of its pollers (those of the last
 * minutes): a notebook that needs labels nobody offers is skipped instead of waiting forever.
 */
export function taskQueuePollers(
  connection: Pick<NativeConnection, 'workflowService'>,
  namespace: string,
): (queue: string) => Promise<boolean> {
  return async (queue) => {
    const reply = await connection.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: queue, kind: 1 }, // TASK_QUEUE_KIND_NORMAL
      taskQueueType: 2, // TASK_QUEUE_TYPE_ACTIVITY
    });
    return (reply.pollers ?? []).length > 0;
  };
}
