/**
 * Each notebook's catalog entry for the API and the dashboard: its header cell's fields
 * (catalog.json) and its contract with where each setting came from (settings.json), as the most
 * recent recorded runs found them (a merge run covers a few notebooks: older runs fill in the rest).
 */
import path from 'node:path';
import type { NotebookHeader } from '../../domain/runs/catalog.js';
import type { NotebookSettings } from '../../domain/runs/contract.js';
import type { HistoryStore } from '../../domain/runs/history.js';
import { CATALOG_FILE, isObject, isRunDirName, SETTINGS_FILE } from '../../domain/runs/run-dir.js';
import { readJsonOrNull } from '../../platform/capped-read.js';

export interface CatalogEntry {
  header?: NotebookHeader;
  /** The settings it last ran with and where each came from; `skip` holds a skip's reason. */
  contract?: NotebookSettings;
}

/** Recent runs whose files are merged (newest wins per notebook). */
const RECENT_RUNS = 5;
const MAX_FILE_BYTES = 16 * 2 ** 20;

/** path → its entry, from the newest RECENT_RUNS recorded runs; empty when none has the files. */
export async function catalogOf(resultsDir: string, store: HistoryStore): Promise<Record<string, CatalogEntry>> {
  const { runs } = await store.runs({ limit: RECENT_RUNS });
  // A Map: the keys come from files, and `__proto__` must stay a key like any other.
  const out = new Map<string, CatalogEntry>();
  const entry = (p: string) => out.get(p) ?? out.set(p, {}).get(p)!;
  for (const run of runs) {
    if (!isRunDirName(run.runId)) continue;
    const headers = await readJson(path.join(resultsDir, run.runId, CATALOG_FILE));
    const settings = await readJson(path.join(resultsDir, run.runId, SETTINGS_FILE));
    for (const [p, h] of Object.entries(headers)) if (isObject(h)) entry(p).header ??= h as unknown as NotebookHeader;
    for (const [p, s] of Object.entries(settings))
      if (isObject(s)) entry(p).contract ??= s as unknown as NotebookSettings;
  }
  return Object.fromEntries(out);
}

/** A JSON object file of a run (a regular file, capped, no link followed); {} otherwise. */
async function readJson(file: string): Promise<Record<string, unknown>> {
  const raw = await readJsonOrNull(file, MAX_FILE_BYTES);
  return isObject(raw) ? raw : {};
}
