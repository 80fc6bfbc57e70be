/**
 * Replay tests guard determinism: histories recorded from real runs must replay against the
 * current workflow code. Histories of the current test run are kept in memory; the committed
 * fixtures under test/fixtures/histories/ (refresh with NBLC_RECORD_HISTORIES=1) catch changes
 * that would break workflows already running in production.
 */
import type { temporal } from '@temporalio/proto';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { TEMPORAL_BIN } from './temporal.js';

type History = temporal.api.history.v1.IHistory;

export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/histories');
const recorded: Array<{ workflowId: string; history: History }> = [];

/** The first argument a workflow was started with, read from its history (JSON payloads). */
export function startInput<T>(history: History): T | undefined {
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return payload?.data ? (JSON.parse(Buffer.from(payload.data).toString('utf8')) as T) : undefined;
}

export async function recordHistory(env: TestWorkflowEnvironment, workflowId: string, name: string, runId?: string) {
  const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
  recorded.push({ workflowId, history });
  const fixture = path.join(FIXTURES, `${name}.json`);
  // Existing fixtures stand for histories already in production: never overwrite them.
  const exists = await fs.access(fixture).then(
    () => true,
    () => false,
  );
  if (process.env.NBLC_RECORD_HISTORIES === '1' && !exists) {
    // The SDK's historyToJSON trips over two protobufjs versions in 1.24.0; the Temporal CLI
    // writes the canonical JSON format that historyFromJSON reads.
    const args = ['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--address', env.address];
    if (runId) args.push('--run-id', runId);
    const { stdout } = await promisify(execFile)(TEMPORAL_BIN, args, { maxBuffer: 64 << 20 });
    await fs.mkdir(FIXTURES, { recursive: true });
    await fs.writeFile(fixture, stdout);
  }
}

/** Replays every recorded and committed history; throws on the first nondeterminism. */
export async function replayAll(workflowBundle: WorkflowBundleWithSourceMap): Promise<number> {
  const fixtures = (await fs.readdir(FIXTURES).catch(() => [])).filter((f) => f.endsWith('.json')).sort();
  const histories = [...recorded];
  for (const f of fixtures) {
    const json = JSON.parse(await fs.readFile(path.join(FIXTURES, f), 'utf8'));
    histories.push({ workflowId: `fixture:${f}`, history: historyFromJSON(json) });
  }
  let count = 0;
  for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
    if (result.error) throw new Error(`history of ${result.workflowId} does not replay: ${result.error.message}`);
    count++;
  }
  return count;
}
