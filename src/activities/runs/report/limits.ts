/**
 * How much of a notebook's result a run's report holds and reads: one notebook (its kernel wrote
 * what its errors say) must never make a report, the history or the alerts fail for the whole
 * run. The executor caps the same fields (python/nblc_output.py); these hold for any file.
 */
export const REPORT_LIMITS = {
  /** One result file (results/<path>.json); larger: reported as unreadable. */
  resultFile: 32 * 2 ** 20,
  /** report.json as the history, the alerts and the comparison with earlier runs read it. */
  reportFile: 256 * 2 ** 20,
  ename: 200,
  evalue: 16 * 1024,
  /** The traceback of the notebook's first unexpected error, and of each listed error. */
  traceback: 64 * 1024,
  laterTraceback: 4 * 1024,
  errors: 20,
} as const;

/** One line, spaces collapsed, at most `max` characters (an exception's name as reports show it). */
export function oneLine(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** At most `max` characters, saying that it was cut. */
export function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}\n… [cut at ${max} characters]` : text;
}
