/**
 * What report.html and the dashboard show alike: the page's base style, the status badges (their
 * colors and markup) and durations as text. Pure, so both the activities and src/api may import it.
 */
import type { NotebookStatus } from '../../domain/runs/model.js';
import { STATUS_LABEL } from '../../domain/runs/status.js';
import { h, type Html } from '../template.js';

/** Page colors, box model and body font. */
export const BASE_CSS = `
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg-soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: #fff; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.dir { color: var(--muted); }
`;

/** Badge colors, one class `st-<status>` per status, and the flaky mark. */
export const BADGE_CSS = `
.badge { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12.5px; font-weight: 600; white-space: nowrap; border: 1px solid transparent; }
.st-passed { background: #dafbe1; color: #116329; border-color: #aceebb; }
.st-failed { background: #ffebe9; color: #a40e26; border-color: #ffcecb; }
.st-timed_out { background: #fff1e5; color: #953800; border-color: #ffd8b5; }
.st-kernel_died { background: #fbefff; color: #6e40c9; border-color: #ecd8ff; }
.st-needs_input { background: #ddf4ff; color: #0550ae; border-color: #b6e3ff; }
.st-no_such_kernel { background: #eaeef2; color: #424a53; border-color: #d1d9e0; }
.st-invalid_notebook { background: #fff8c5; color: #7d4e00; border-color: #f5e0a0; }
.st-out_of_memory { background: #fff0f6; color: #99154b; border-color: #ffd3eb; }
.st-skipped { background: #f6f8fa; color: #57606a; border-color: #d0d7de; border-style: dashed; }
.flaky { background: #fff8c5; color: #7d4e00; border-color: #eed888; }
`;

/** A status as a badge (the colors of BADGE_CSS). */
export function statusBadge(status: NotebookStatus): Html {
  return h`<span class="badge st-${status}">${STATUS_LABEL[status] ?? status}</span>`;
}

/** Mark colors of the dashboard's history strip, one per status (as the badges). */
export const STATUS_COLOR: Record<NotebookStatus, string> = {
  passed: '#2da44e',
  failed: '#cf222e',
  timed_out: '#bc4c00',
  kernel_died: '#8250df',
  needs_input: '#0969da',
  no_such_kernel: '#6e7781',
  invalid_notebook: '#9a6700',
  out_of_memory: '#99154b',
  skipped: '#afb8c1',
};

/** "850 ms", "12.3 s", "4m 05s", "1h 02m 03s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m ${s}s` : `${m}m ${s}s`;
}
