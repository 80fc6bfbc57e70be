/**
 * Reading a notebook of a snapshot as data, never running it: its metadata and cells, for the
 * scans that only look (what it imports, its header cell). A link, a non-file or a file over the
 * cap is not read; neither is one that is not JSON.
 */
import { readJsonOrNull } from '../../platform/capped-read.js';

/** Notebooks larger than this are not scanned (the executor still reports them). */
export const MAX_SCANNED_NOTEBOOK_BYTES = 64 * 2 ** 20;

export interface NotebookCell {
  cell_type: string;
  source: string;
  /** The cell's tags (papermill's `parameters`, nbconvert's `raises-exception`, …). */
  tags: string[];
}

/** The notebook's metadata and cells (sources joined), or null when it cannot be read. */
export async function readNotebookCells(
  file: string,
): Promise<{ metadata: Record<string, unknown>; cells: NotebookCell[] } | null> {
  // no link followed, no FIFO waited on, capped: a planted file must not make the worker read another
  const nb = await readJsonOrNull(file, MAX_SCANNED_NOTEBOOK_BYTES);
  if (typeof nb !== 'object' || nb === null) return null;
  const { metadata, cells } = nb as { metadata?: unknown; cells?: unknown };
  const meta = typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>) : {};
  const list = Array.isArray(cells) ? cells : [];
  return {
    metadata: meta,
    cells: list.map((c: { cell_type?: unknown; source?: unknown; metadata?: { tags?: unknown } } | null) => ({
      cell_type: typeof c?.cell_type === 'string' ? c.cell_type : '',
      tags: Array.isArray(c?.metadata?.tags) ? c.metadata.tags.filter((t): t is string => typeof t === 'string') : [],
      source: Array.isArray(c?.source)
        ? c.source.filter((s): s is string => typeof s === 'string').join('')
        : typeof c?.source === 'string'
          ? c.source
          : '',
    })),
  };
}
