/**
 * The cell-level three-way merge of a notebook both the user and upstream changed: the content
 * half of the update rules' `merged` outcome (rules.ts decides when; this decides what). Pure.
 *
 * - Running a notebook is not an edit: outputs, execution counts and the metadata a run writes
 *   never make a cell "changed". A cell's run state is the user's, except where upstream changed
 *   the code and the user did not: then it is upstream's, and the user's outputs are dropped.
 * - Cells are matched by id or by alignment (notebook-cells.ts); cells added, removed or moved on
 *   either side are applied.
 * - A cell, or a key of the notebook's metadata, changed on both sides to different values, or
 *   removed on one side and changed on the other, makes the whole notebook a conflict: nothing is
 *   merged by halves. So does a result that would not hold every cell the user wrote, or that is
 *   not a valid notebook.
 */
import type { MergedCells } from './model.js';
import { matchCells } from './notebook-cells.js';
import {
  RUN_NOTEBOOK_METADATA,
  cellContent,
  hasRun,
  notebookProblem,
  notebookText,
  parseNotebook,
  runState,
  same,
  sourceText,
  withCellIds,
  withoutKeys,
  type Cell,
  type Json,
  type JsonObject,
  type Notebook,
} from './notebook.js';

/** Cells of the merged notebook by number (1-based), for the report. */
export type CellOrigins = MergedCells;

export type NotebookMerge =
  { ok: true; notebook: Notebook; text: string; cells: CellOrigins } | { ok: false; reason: string };

class Conflict extends Error {}

/** Merges the three texts; `ok: false` (a conflict) says why not. */
export function mergeNotebookTexts(base: string, local: string, upstream: string): NotebookMerge {
  const parsed = [
    ['the delivered version', base],
    ['your version', local],
    ['upstream', upstream],
  ].map(([who, text]) => ({ who, ...parseNotebook(text!) }));
  for (const p of parsed)
    if (!p.ok) return { ok: false, reason: `${p.who} is not a notebook nblc can merge (${p.reason})` };
  const [b, l, u] = parsed.map((p) => (p as { notebook: Notebook }).notebook) as [Notebook, Notebook, Notebook];
  return mergeNotebooks(b, l, u);
}

/** Merges three valid notebooks (see notebookProblem). */
export function mergeNotebooks(base: Notebook, local: Notebook, upstream: Notebook): NotebookMerge {
  try {
    const { cells, origins } = mergeCells(base.cells, local.cells, upstream.cells);
    const minor = Math.max(local.nbformat_minor, upstream.nbformat_minor);
    const notebook: Notebook = {
      nbformat: 4,
      nbformat_minor: minor,
      metadata: mergeMetadata(base.metadata, local.metadata, upstream.metadata),
      cells: withCellIds(cells, minor),
    };
    const lost = lostUserCell(base.cells, local.cells, notebook.cells);
    if (lost !== null) throw new Conflict(`your cell ${lost + 1} would not survive the merge`);
    const problem = notebookProblem(notebook);
    if (problem) throw new Conflict(`the merge would not be a valid notebook: ${problem}`);
    return { ok: true, notebook, text: notebookText(notebook), cells: origins };
  } catch (err) {
    if (err instanceof Conflict) return { ok: false, reason: err.message };
    throw err;
  }
}

/** The value both sides agree on, or the one side's change; undefined is "absent". */
function merge3(b: Json | undefined, l: Json | undefined, u: Json | undefined, what: () => string): Json | undefined {
  if (same(l, u) || same(u, b)) return l;
  if (same(l, b)) return u;
  throw new Conflict(`${what()} was changed both in your copy and upstream`);
}

function mergeKeys(b: JsonObject, l: JsonObject, u: JsonObject, what: (k: string) => string): JsonObject {
  const out: JsonObject = {};
  for (const k of [...new Set([...Object.keys(l), ...Object.keys(u), ...Object.keys(b)])].sort()) {
    const v = merge3(b[k], l[k], u[k], () => what(k));
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Notebook metadata key by key; the kernelspec is upstream's unless the user chose another; run keys are the user's. */
function mergeMetadata(b: JsonObject, l: JsonObject, u: JsonObject): JsonObject {
  const out = mergeKeys(
    withoutKeys(b, ['kernelspec', ...RUN_NOTEBOOK_METADATA]),
    withoutKeys(l, ['kernelspec', ...RUN_NOTEBOOK_METADATA]),
    withoutKeys(u, ['kernelspec', ...RUN_NOTEBOOK_METADATA]),
    (k) => `the notebook's metadata "${k}"`,
  );
  for (const k of ['kernelspec', ...RUN_NOTEBOOK_METADATA]) {
    const v = same(l[k], b[k]) ? u[k] : l[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

type Key = `b${number}` | `l${number}` | `u${number}`;

interface Built {
  cells: Cell[];
  origins: CellOrigins;
}

function mergeCells(base: Cell[], local: Cell[], upstream: Cell[]): Built {
  const mL = matchCells(base, local);
  const mU = matchCells(base, upstream);
  const keysOf = (cells: Cell[], m: number[], side: 'l' | 'u'): Key[] => {
    const from = new Map(m.map((j, i) => [j, i] as const).filter(([j]) => j >= 0));
    return cells.map((_, j): Key => (from.has(j) ? `b${from.get(j)!}` : `${side}${j}`));
  };
  const name = (i: number) => `cell ${i + 1}${typeof base[i]!.id === 'string' ? ` (id ${base[i]!.id})` : ''}`;

  // Which cells of the delivered version stay, and as what.
  const merged = new Map<Key, { cell: Cell; user: boolean; upstream: boolean; dropped: boolean }>();
  const removedByBoth = new Set<number>();
  base.forEach((b, i) => {
    const l = mL[i]! >= 0 ? local[mL[i]!]! : undefined;
    const u = mU[i]! >= 0 ? upstream[mU[i]!]! : undefined;
    const changed = (c: Cell) => !same(cellContent(c), cellContent(b));
    if (l && u)
      merged.set(
        `b${i}`,
        mergeCell(b, l, u, () => name(i)),
      );
    else if (u && changed(u)) throw new Conflict(`${name(i)} was removed in your copy and changed upstream`);
    else if (l && changed(l)) throw new Conflict(`${name(i)} was changed in your copy and removed upstream`);
    else if (!l && !u) removedByBoth.add(i);
  });
  const kept = (k: Key) => !k.startsWith('b') || merged.has(k);
  const lKeys = keysOf(local, mL, 'l').filter(kept);
  const uKeys = keysOf(upstream, mU, 'u').filter(kept);
  const order = mergeOrder(
    base.map((_, i): Key => `b${i}`).filter(kept),
    lKeys,
    uKeys,
    (k) => cellContent(k.startsWith('l') ? local[+k.slice(1)]! : upstream[+k.slice(1)]!),
    (after, before) => {
      const [from, to] = [after ? +after.slice(1) : -1, before ? +before.slice(1) : base.length];
      const i = [...removedByBoth].find((r) => r > from && r < to);
      if (i !== undefined) throw new Conflict(`${name(i)} was rewritten both in your copy and upstream`);
    },
  );

  const origins: CellOrigins = { upstream: [], user: [], outputsDropped: [] };
  const cells = order.map((k, n) => {
    if (k.startsWith('l')) {
      origins.user.push(n + 1);
      return local[+k.slice(1)]!;
    }
    if (k.startsWith('u')) {
      origins.upstream.push(n + 1);
      return upstream[+k.slice(1)]!;
    }
    const m = merged.get(k)!;
    if (m.user) origins.user.push(n + 1);
    if (m.upstream) origins.upstream.push(n + 1);
    if (m.dropped) origins.outputsDropped.push(n + 1);
    return m.cell;
  });
  return { cells, origins };
}

/** One cell both sides still have: its content field by field, its run state as the module comment says. */
function mergeCell(b: Cell, l: Cell, u: Cell, name: () => string) {
  const [cb, cl, cu] = [cellContent(b), cellContent(l), cellContent(u)];
  const content: JsonObject = {
    cell_type: merge3(cb.cell_type, cl.cell_type, cu.cell_type, () => `the type of ${name()}`)!,
    source: merge3(cb.source, cl.source, cu.source, name)!,
    attachments: merge3(cb.attachments, cl.attachments, cu.attachments, () => `the attachments of ${name()}`) ?? null,
    metadata: mergeKeys(
      cb.metadata as JsonObject,
      cl.metadata as JsonObject,
      cu.metadata as JsonObject,
      (k) => `the metadata "${k}" of ${name()}`,
    ),
  };
  const code = (c: JsonObject): Json => [c.cell_type!, c.source!];
  const upstreamCode = !same(code(cu), code(cb)) && same(code(cl), code(cb));
  const run = upstreamCode || same(runState(l), runState(b)) ? runState(u) : runState(l);
  const cell: Cell = {
    ...(typeof l.id === 'string' ? { id: l.id } : typeof u.id === 'string' ? { id: u.id } : {}),
    cell_type: content.cell_type as string,
    source: content.source === sourceText(l) ? l.source : u.source,
    metadata: { ...(content.metadata as JsonObject) },
  };
  if (content.attachments !== null) cell.attachments = content.attachments!;
  if (cell.cell_type === 'code') {
    cell.outputs = (run.outputs as Json) ?? [];
    cell.execution_count = (run.execution_count as Json) ?? null;
    Object.assign(cell.metadata as JsonObject, run.meta as JsonObject);
  }
  return {
    cell,
    user: !same(cl, cb),
    upstream: !same(cu, cb) && !same(content, cl),
    dropped: upstreamCode && hasRun(l) && !same(runState(l), runState(u)),
  };
}

/**
 * The order of the merged cells. The cells both sides kept follow the side that moved them (both
 * moved them differently: a conflict); the other side's new cells go right after the cell they
 * follow on their side, after the first side's new cells there; a cell both sides added alike
 * is there once (wherever the first side put it). Both sides adding different cells where both removed one is both rewriting it:
 * `clash` (given the kept cells around the place) throws the conflict.
 */
function mergeOrder(
  common: Key[],
  lKeys: Key[],
  uKeys: Key[],
  content: (k: Key) => JsonObject,
  clash: (after: Key | undefined, before: Key | undefined) => void,
): Key[] {
  const commonOf = (keys: Key[]) => keys.filter((k) => k.startsWith('b'));
  const eq = (a: Key[], b: Key[]) => a.length === b.length && a.every((k, i) => k === b[i]);
  const [inL, inU] = [commonOf(lKeys), commonOf(uKeys)];
  let [first, second] = [lKeys, uKeys];
  if (!eq(inL, inU)) {
    if (eq(inL, common)) [first, second] = [uKeys, lKeys];
    else if (!eq(inU, common)) throw new Conflict('cells were moved both in your copy and upstream');
  }
  const out = [...first];
  const firstNew = new Set(first.filter((k) => !k.startsWith('b')));
  const claimed = new Set<Key>();
  const twin = (x: Key, k: Key) => firstNew.has(x) && !claimed.has(x) && same(content(x), content(k));
  let anchor = -1;
  for (const k of second) {
    if (k.startsWith('b')) {
      anchor = out.indexOf(k);
      continue;
    }
    let at = anchor + 1;
    while (at < out.length && !out[at]!.startsWith('b') && !twin(out[at]!, k)) at++;
    if (at < out.length && !out[at]!.startsWith('b')) {
      claimed.add(out[at]!);
      anchor = at; // added alike on both sides: once
      continue;
    }
    // Added alike, but the alignment of cells without ids put the two next to different kept
    // cells (a merged result merged again: the first merge placed it): still once, where the first
    // side has it. Cells with ids never get here (alike new cells share their id).
    const elsewhere = out.find((x) => twin(x, k));
    if (elsewhere !== undefined) {
      claimed.add(elsewhere);
      continue;
    }
    if (at > anchor + 1) {
      const isBase = (x: Key) => x.startsWith('b');
      clash(
        out
          .slice(0, anchor + 1)
          .reverse()
          .find(isBase),
        out.slice(at).find(isBase),
      );
    }
    out.splice(at, 0, k);
    anchor = at;
  }
  return out;
}

/**
 * The index of a cell of the user's that the merged cells lack, or null: a cell the user added or
 * changed (its content is not one the delivered version had) must be in the result as they wrote it.
 */
function lostUserCell(base: Cell[], local: Cell[], result: Cell[]): number | null {
  const key = (c: Cell) => JSON.stringify([c.cell_type, sourceText(c)]);
  const delivered = new Set(base.map(key));
  const present = new Set(result.map(key));
  const i = local.findIndex((c) => !delivered.has(key(c)) && !present.has(key(c)));
  return i < 0 ? null : i;
}
