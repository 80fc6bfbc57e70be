/** The answers of the copy activities: every request gets its path, per-file report and counts. */
import path from 'node:path';
import { countOutcomes, type CopyRequest, type CopyResult, type FileReport } from '../../domain/copies/model.js';
import type { UserDir } from './fs.js';

/** An answer with defaults for what `r` leaves out (nothing created, no files). */
export const result = (u: UserDir, request: CopyRequest, name: string, r: Partial<CopyResult>): CopyResult => ({
  user: u.user,
  mode: request.mode,
  name,
  path: path.join(u.dir, name),
  created: false,
  commit: null,
  previousCommit: null,
  files: [],
  counts: countOutcomes(r.files ?? []),
  message: '',
  ...r,
});

/** The answer of an `update`, with its outcomes counted in the message. */
export function updateResult(
  u: UserDir,
  request: CopyRequest,
  name: string,
  commit: string,
  previousCommit: string | null,
  files: FileReport[],
): CopyResult {
  const counts = countOutcomes(files);
  const parts = Object.entries(counts).map(([o, n]) => `${n} ${o}`);
  const from = previousCommit && previousCommit !== commit ? `${previousCommit.slice(0, 7)} → ` : '';
  return result(u, request, name, {
    commit,
    previousCommit,
    files,
    message: `updated ${name}/ (${from}${commit.slice(0, 7)}): ${parts.join(', ') || 'nothing to do'}`,
  });
}
