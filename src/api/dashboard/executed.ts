/**
 * GET /ui/runs/<runId>/executed/<path>: an executed notebook as an operator reads it to see what
 * went wrong: every cell's source and its outputs as text (streams, results, tracebacks without
 * ANSI colors) and PNG/JPEG images. Markdown is shown as its source and HTML outputs by their
 * text/plain form: a notebook's HTML is the notebook author's (or an attacker's), never ours to
 * render. Bounded: long outputs are cut, and a huge notebook only lists its first cells.
 */
import type { ExecutedNotebook } from '../../storage/runs/run-reports.js';
import { h, page, pathLabel, type Html } from './layout.js';
import { notebookHref, type Links } from './links.js';

const MAX_CELLS = 300;
const MAX_TEXT = 20_000;
const MAX_IMAGE_CHARS = 4 * 1024 * 1024;
// Terminal colors in tracebacks: ESC [ params letter.
const ANSI = new RegExp(String.raw`\u001b\[[0-9;?]*[A-Za-z]`, 'g');
const BASE64 = /^[A-Za-z0-9+/=\s]+$/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** nbformat's multiline strings: a string or a list of lines (which keep their newlines, except a traceback's). */
function joined(v: unknown, sep = ''): string {
  const s = Array.isArray(v) ? v.filter((x) => typeof x === 'string').join(sep) : typeof v === 'string' ? v : '';
  const plain = s.replace(ANSI, '');
  return plain.length > MAX_TEXT
    ? `${plain.slice(0, MAX_TEXT)}\n… (${plain.length - MAX_TEXT} more characters)`
    : plain;
}

function output(o: Json): Html | null {
  if (o.output_type === 'stream') {
    return h`<pre class="out${o.name === 'stderr' ? ' err' : ''}">${joined(o.text)}</pre>`;
  }
  if (o.output_type === 'error') {
    const tb = joined(o.traceback, '\n') || `${String(o.ename)}: ${String(o.evalue)}`;
    return h`<pre class="tb">${tb}</pre>`;
  }
  const data = isObject(o.data) ? o.data : {};
  for (const mime of ['image/png', 'image/jpeg']) {
    const b64 = typeof data[mime] === 'string' ? (data[mime] as string) : '';
    if (b64 && b64.length <= MAX_IMAGE_CHARS && BASE64.test(b64)) {
      return h`<img class="out" alt="${mime} output" src="data:${mime};base64,${b64.replace(/\s/g, '')}" />`;
    }
  }
  const text = joined(data['text/plain']);
  return text ? h`<pre class="out">${text}</pre>` : null;
}

function cell(c: Json, i: number): Html {
  const source = joined(c.source);
  if (c.cell_type !== 'code') return h`<div class="cell md"><pre>${source}</pre></div>`;
  const outputs = Array.isArray(c.outputs) ? c.outputs.filter(isObject) : [];
  const count = typeof c.execution_count === 'number' ? `[${c.execution_count}]` : '[ ]';
  return h`<div class="cell"><div class="prompt" title="cell ${i}">${count}</div><div class="body"><pre class="src">${source}</pre>${outputs.map(
    output,
  )}</div></div>`;
}

export function executedPage(runId: string, path: string, read: ExecutedNotebook, links: Links): Html {
  const head = h`<h1>${pathLabel(path)}</h1>
<p>Executed in run <a href="${links.report(runId)}"><code>${runId}</code></a> · <a href="${links.executed(runId, path)}" download>download the .ipynb</a> · <a href="${notebookHref(path)}">its history</a></p>`;
  if ('problem' in read) {
    const why = {
      missing: 'This run has no executed copy of this notebook (it may not have started, or the run was pruned).',
      'too-large': 'This executed notebook is too large to show here: download it.',
      unreadable: 'This executed notebook cannot be read (not JSON?): download it.',
    }[read.problem];
    return page(path, 'notebooks', h`${head}<p class="note">${why}</p>`);
  }
  const cells =
    isObject(read.notebook) && Array.isArray(read.notebook.cells) ? read.notebook.cells.filter(isObject) : [];
  const more = cells.length - MAX_CELLS;
  return page(
    path,
    'notebooks',
    h`${head}<div class="nbview">${cells.slice(0, MAX_CELLS).map(cell)}</div>${
      more > 0 ? h`<p class="note">${more} more cells: download the notebook.</p>` : null
    }`,
  );
}
