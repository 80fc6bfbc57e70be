/**
 * Escaping and formatting shared by the report renderers. Everything a notebook produced
 * (paths, evalues, tracebacks) is untrusted text: the JUnit file escapes it with these, the HTML
 * page with the template (src/views/template.ts).
 */
import type { NotebookError, NotebookResult } from '../../../domain/runs/model.js';
import { STATUS_LABEL } from '../../../domain/runs/model.js';
import { formatDuration } from '../presentation.js';

export { formatDuration, STATUS_LABEL };

/**
 * Characters outside XML 1.0's `Char` production: C0 controls except tab/LF/CR, lone
 * surrogates (the `u` flag matches them as code points), U+FFFE/U+FFFF. HTML gets the same
 * treatment (they are parse errors there and only ever garbage from a terminal).
 */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function stripInvalidChars(s: string): string {
  return s.replace(NOT_XML_CHAR, '');
}

/** Text content of an XML element. `\r` as a reference, or parsers normalize it away. */
export function xmlText(s: string): string {
  return stripInvalidChars(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#13;');
}

/** A double-quoted XML attribute value; whitespace as references so it survives normalization. */
export function xmlAttr(s: string): string {
  return xmlText(s).replace(/"/g, '&quot;').replace(/\t/g, '&#9;').replace(/\n/g, '&#10;');
}

/** A relative URL for a relative file path: each segment percent-encoded (spaces, `#`, `?`, unicode). */
export function relativeHref(relPath: string): string {
  return relPath.split('/').map(encodeURIComponent).join('/');
}

/** "812 MiB", "3.2 GiB", "–" when not measured. */
export function formatBytes(bytes: number | null | undefined): string {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) return '–';
  if (bytes < 1 << 20) return `${Math.max(0, Math.round(bytes / 1024))} KiB`;
  if (bytes < 1 << 30) return `${Math.round(bytes / (1 << 20))} MiB`;
  return `${(bytes / (1 << 30)).toFixed(1)} GiB`;
}

/** CPU seconds: "0.31 s", "12.4 s", "–" when not measured. */
export function formatCpu(s: number | null | undefined): string {
  if (typeof s !== 'number' || !Number.isFinite(s) || s < 0) return '–';
  return s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`;
}

/** Seconds with millisecond precision, as JUnit's `time` attributes want them. */
export function seconds(ms: number): string {
  return (Math.max(0, Number.isFinite(ms) ? ms : 0) / 1000).toFixed(3);
}

/** Milliseconds between two ISO timestamps (NaN if either does not parse). */
export function elapsedMs(startedAt: string, finishedAt: string): number {
  return Date.parse(finishedAt) - Date.parse(startedAt);
}

/** "2024-05-01 02:00:03 UTC" from an ISO timestamp; the input itself if it does not parse. */
export function formatDate(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export const cellName = (cell: number) => (cell < 0 ? 'prerun cell' : `cell ${cell}`);

/** The folder and file name of a notebook path (`''` folder at the root). */
export function splitPath(p: string): { dir: string; name: string } {
  const i = p.lastIndexOf('/');
  return i < 0 ? { dir: '', name: p } : { dir: p.slice(0, i), name: p.slice(i + 1) };
}

/** The error that decided the status, then any other unexpected ones (expected errors are not problems). */
export function problemErrors(nb: NotebookResult): NotebookError[] {
  const others = nb.errors.filter((e) => !e.expected && !sameError(e, nb.error));
  return nb.error ? [nb.error, ...others] : others;
}

function sameError(a: NotebookError, b: NotebookError | null): boolean {
  return !!b && a.cell === b.cell && a.ename === b.ename && a.evalue === b.evalue && a.traceback === b.traceback;
}

/** One line for lists: the executor's message, or what the status means. */
export function oneLine(nb: NotebookResult): string {
  const text =
    nb.message ??
    (nb.error ? `${cellName(nb.error.cell)}: ${nb.error.ename}: ${nb.error.evalue}` : STATUS_LABEL[nb.status]);
  const first = text.split('\n', 1)[0] ?? '';
  return first.length > 300 ? `${first.slice(0, 299)}…` : first;
}
