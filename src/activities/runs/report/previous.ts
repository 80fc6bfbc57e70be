/**
 * The previous finished run of the same kind, read from its report.json, for a report's
 * "newly failing" and "fixed".
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { NOTEBOOK_STATUSES, type NotebookStatus, type RunKind } from '../../../domain/runs/model.js';
import { mapLimit } from '../../files.js';
import { READ_CONCURRENCY, REPORT_FILES, isObject } from '../../../domain/runs/run-dir.js';
import { readTextCapped } from '../../../platform/capped-read.js';
import { REPORT_LIMITS } from './limits.js';

/** Enough of a report.json to see its kind and finishedAt before the notebooks. */
const HEAD_BYTES = 16 * 1024;

export interface PreviousRun {
  runId: string;
  finishedAt: string;
  statuses: Map<string, NotebookStatus>;
}

/**
 * The newest other run under `resultsDir` of the same kind whose report.json says it finished
 * before `startedAt` (ties: the greater directory name). Missing, unreadable or corrupt reports
 * are ignored. Only the head of each report is read to pick candidates; the chosen one is
 * parsed and validated in full (and skipped for the next if it is corrupt).
 */
export async function findPreviousRun(
  resultsDir: string,
  runId: string,
  kind: RunKind,
  startedAt: string,
): Promise<PreviousRun | null> {
  const before = Date.parse(startedAt);
  let names: string[];
  try {
    names = (await fs.readdir(resultsDir)).filter((n) => n !== runId && !n.startsWith('.'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const qualifies = (h: { kind: unknown; finishedAt: unknown }) =>
    h.kind === kind && typeof h.finishedAt === 'string' && Date.parse(h.finishedAt) < before;

  const candidates: Array<{ name: string; finishedMs: number }> = [];
  await mapLimit(names, READ_CONCURRENCY, async (name) => {
    const head = await peekReport(path.join(resultsDir, name, REPORT_FILES.json));
    if (head === null) return;
    if (head === 'unknown' || qualifies(head)) {
      // an unknown head is parsed in full below; its finishedAt is only known then
      candidates.push({ name, finishedMs: head === 'unknown' ? NaN : Date.parse(head.finishedAt) });
    }
  });
  // Known heads newest first; unknown ones are resolved by parsing them.
  const parsed = new Map<string, ParsedReport>();
  for (const c of candidates.filter((c) => Number.isNaN(c.finishedMs))) {
    const run = await readPreviousReport(resultsDir, c.name);
    if (run && qualifies({ kind: run.kind, finishedAt: run.finishedAt })) {
      c.finishedMs = Date.parse(run.finishedAt);
      parsed.set(c.name, run);
    }
  }
  const ordered = candidates
    .filter((c) => !Number.isNaN(c.finishedMs))
    .sort((a, b) => b.finishedMs - a.finishedMs || (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
  for (const c of ordered) {
    const run = parsed.get(c.name) ?? (await readPreviousReport(resultsDir, c.name));
    if (run && qualifies({ kind: run.kind, finishedAt: run.finishedAt })) {
      return { runId: run.runId, finishedAt: run.finishedAt, statuses: run.statuses };
    }
  }
  return null;
}

/**
 * `kind` and `finishedAt` from the head of a report.json (before its "notebooks"), or 'unknown'
 * when the head does not show them (written differently, very long), or null when unreadable.
 * Escaped quotes inside string values cannot fake a `"kind": "…"` here.
 */
export async function peekReport(file: string): Promise<{ kind: string; finishedAt: string } | 'unknown' | null> {
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(file, 'r');
  } catch {
    return null;
  }
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    const head = buf.toString('utf8', 0, bytesRead);
    const end = head.indexOf('"notebooks"');
    if (end < 0) return 'unknown';
    const fields = head.slice(0, end);
    const kind = /"kind"\s*:\s*"([^"\\]*)"/.exec(fields)?.[1];
    const finishedAt = /"finishedAt"\s*:\s*"([^"\\]*)"/.exec(fields)?.[1];
    return kind !== undefined && finishedAt !== undefined ? { kind, finishedAt } : 'unknown';
  } catch {
    return null;
  } finally {
    await fh.close();
  }
}

/** A whole earlier report, validated as far as the comparison needs it; null if corrupt. */
type ParsedReport = PreviousRun & { kind: unknown };

async function readPreviousReport(resultsDir: string, name: string): Promise<ParsedReport | null> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readTextCapped(path.join(resultsDir, name, REPORT_FILES.json), REPORT_LIMITS.reportFile));
  } catch {
    return null;
  }
  if (!isObject(raw) || typeof raw.finishedAt !== 'string' || !Array.isArray(raw.notebooks)) return null;
  const statuses = new Map<string, NotebookStatus>();
  for (const nb of raw.notebooks) {
    if (!isObject(nb) || typeof nb.path !== 'string' || !NOTEBOOK_STATUSES.includes(nb.status as NotebookStatus)) {
      return null;
    }
    statuses.set(nb.path, nb.status as NotebookStatus);
  }
  return { runId: name, kind: raw.kind, finishedAt: raw.finishedAt, statuses };
}
