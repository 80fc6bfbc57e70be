/**
 * The files beside a run's results that the report joins to each notebook: the settings it ran
 * with (settings.json) and its header cell's fields (catalog.json), both written by contracts.ts.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { isFailing, type NotebookResult } from '../../../domain/runs/model.js';
import { CATALOG_FILE, SETTINGS_FILE, isObject } from '../../../domain/runs/run-dir.js';
import { expiredSkip, type NotebookSettings } from '../../../domain/runs/contract.js';
import type { NotebookHeader } from '../../../domain/runs/catalog.js';

/** settings.json of the run (contracts.ts); none for runs from before contracts, or a bad file. */
export const readSettings = (runDir: string) => readRunObject<NotebookSettings>(runDir, SETTINGS_FILE);

/** catalog.json of the run (contracts.ts): each notebook's header fields; none for older runs or a bad file. */
export const readCatalog = (runDir: string) => readRunObject<NotebookHeader>(runDir, CATALOG_FILE);

/** A per-notebook JSON object the worker wrote beside the results; empty when absent or not an object. */
async function readRunObject<T>(runDir: string, file: string): Promise<Record<string, T>> {
  try {
    const raw: unknown = JSON.parse(await fs.readFile(path.join(runDir, file), 'utf8'));
    return isObject(raw) ? (raw as Record<string, T>) : {};
  } catch {
    return {};
  }
}

/** The result with the settings it ran with, and, failing after its skip ended, that the skip expired. */
export function withSettings(nb: NotebookResult, s: NotebookSettings | undefined, startedAt: number): NotebookResult {
  if (!isObject(s) || !isObject(s.sources)) return nb;
  const expired = isFailing(nb.status) ? expiredSkip(s, startedAt) : null;
  return { ...nb, settings: s, ...(expired ? { skipExpired: expired } : {}) };
}

/** Whether the run left this file (an executed notebook the report links to); links are stat'ed through. */
export async function isFile(p: string): Promise<boolean> {
  return fs.stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}
