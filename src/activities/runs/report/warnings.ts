/**
 * Warnings of a run that are not any notebook's result (a `.nblcignore` that was not read), kept
 * in the run's directory by the step that found them and shown by its report. The file is
 * written by the worker only; it is still read with a cap, like every file of a run.
 */
import { Context } from '@temporalio/activity';
import fs from 'node:fs/promises';
import path from 'node:path';
import { runIdFromWorkflowId } from '../../../domain/runs/model.js';
import { readCapped } from '../../../platform/capped-read.js';
import { writeFileAtomic } from '../../files.js';
import { isObject, isRunDirName } from '../../../domain/runs/run-dir.js';

export const WARNINGS_FILE = 'warnings.json';
const WARNINGS_LIMIT = 64 * 1024;
const MAX_WARNINGS = 20;

/**
 * Records the discovery's warnings for the run of the calling workflow (its ID names the run, as
 * the workflow derives it), without a change to what the workflow passes: none when the caller
 * is not a test run's activity.
 */
export async function recordDiscoveryWarnings(resultsDir: string, warnings: string[]): Promise<void> {
  let runId: string;
  try {
    runId = runIdFromWorkflowId(Context.current().info.workflowExecution?.workflowId ?? '');
  } catch {
    return; // not in an activity (a CLI or test call): there is no run to tell
  }
  if (!isRunDirName(runId)) return;
  const file = path.join(resultsDir, runId, WARNINGS_FILE);
  if (warnings.length === 0) await fs.rm(file, { force: true });
  else await writeFileAtomic(file, `${JSON.stringify({ discovery: warnings.slice(0, MAX_WARNINGS) }, null, 1)}\n`);
}

/** The run's warnings, for its report ([] when none, or when the file is not what it should be). */
export async function readRunWarnings(runDir: string): Promise<string[]> {
  const read = await readCapped(path.join(runDir, WARNINGS_FILE), WARNINGS_LIMIT);
  if (read.kind !== 'text') return [];
  try {
    const raw: unknown = JSON.parse(read.text);
    const list = isObject(raw) && Array.isArray(raw.discovery) ? raw.discovery : [];
    return list.filter((w): w is string => typeof w === 'string').slice(0, MAX_WARNINGS);
  } catch {
    return [];
  }
}
