/**
 * Which cell of one version of a notebook is which cell of another: the matching the cell-level
 * merge (notebook-merge.ts) builds on. By nbformat cell id when both versions have ids (nbformat
 * 4.5 and later: ids survive edits and moves); otherwise by an alignment of the cells, as nbdime
 * does: equal cells first (a longest common subsequence), then similar ones of the same type in
 * what lies between. A cell rewritten beyond recognition is one removed and one added (and the
 * merge calls it a conflict when both sides did that at the same place). Pure.
 */
import { sourceText, type Cell } from './notebook.js';

/** Cells with at least this share of their source in common are taken for an edit of one another. */
const SIMILAR = 0.5;
/** Beyond this many pairs to compare, a stretch is not aligned (its cells count as removed and added). */
const MAX_WORK = 4_000_000;
/** Sources of one line are compared character by character up to this length, else line by line. */
const MAX_CHARS = 400;

/** For each cell of `base`, the index of its counterpart in `other`, or -1 (removed there). */
export function matchCells(base: readonly Cell[], other: readonly Cell[]): number[] {
  return haveIds(base) && haveIds(other) ? byId(base, other) : aligned(base, other);
}

/** Every cell has an id, and no id appears twice. */
function haveIds(cells: readonly Cell[]): boolean {
  const ids = cells.map((c) => c.id);
  return ids.every((id) => typeof id === 'string') && new Set(ids).size === ids.length;
}

function byId(base: readonly Cell[], other: readonly Cell[]): number[] {
  const at = new Map(other.map((c, j) => [c.id as string, j]));
  return base.map((c) => at.get(c.id as string) ?? -1);
}

function aligned(base: readonly Cell[], other: readonly Cell[]): number[] {
  const match = base.map(() => -1);
  const key = (c: Cell) => `${c.cell_type}\0${sourceText(c)}`;
  const bk = base.map(key);
  const ok = other.map(key);
  const pin = (pairs: Array<[number, number]>) => pairs.forEach(([i, j]) => (match[i] = j));
  pin(lcs(0, base.length, 0, other.length, (i, j) => bk[i] === ok[j]));
  // Between equal cells: similar ones (an edit); the rest were removed and added.
  for (const g of gaps(match, base.length, other.length)) {
    pin(
      lcs(g.i0, g.i1, g.j0, g.j1, (i, j) => base[i]!.cell_type === other[j]!.cell_type && similar(base[i]!, other[j]!)),
    );
  }
  return match;
}

interface Gap {
  i0: number;
  i1: number;
  j0: number;
  j1: number;
}

/** The stretches between consecutive matched cells (`match` is increasing where matched). */
function gaps(match: number[], n: number, m: number): Gap[] {
  const out: Gap[] = [];
  let i0 = 0;
  let j0 = 0;
  for (let i = 0; i <= n; i++) {
    if (i < n && match[i] === -1) continue;
    const j = i < n ? match[i]! : m;
    if (i > i0 || j > j0) out.push({ i0, i1: i, j0, j1: j });
    i0 = i + 1;
    j0 = j + 1;
  }
  return out;
}

/** A longest common subsequence of [i0,i1) and [j0,j1) under `eq`, as index pairs in order. */
function lcs(
  i0: number,
  i1: number,
  j0: number,
  j1: number,
  eq: (i: number, j: number) => boolean,
): Array<[number, number]> {
  const head: Array<[number, number]> = [];
  const tail: Array<[number, number]> = [];
  while (i0 < i1 && j0 < j1 && eq(i0, j0)) head.push([i0++, j0++]);
  while (i0 < i1 && j0 < j1 && eq(i1 - 1, j1 - 1)) tail.unshift([--i1, --j1]);
  const n = i1 - i0;
  const m = j1 - j0;
  if (n === 0 || m === 0 || n * m > MAX_WORK) return [...head, ...tail];
  // len[(i)(m+1) + j]: the LCS of the suffixes from i0+i and j0+j.
  const len = new Int32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      len[i * (m + 1) + j] = eq(i0 + i, j0 + j)
        ? len[(i + 1) * (m + 1) + j + 1]! + 1
        : Math.max(len[(i + 1) * (m + 1) + j]!, len[i * (m + 1) + j + 1]!);
    }
  }
  const mid: Array<[number, number]> = [];
  for (let i = 0, j = 0; i < n && j < m;) {
    if (eq(i0 + i, j0 + j) && len[i * (m + 1) + j] === len[(i + 1) * (m + 1) + j + 1]! + 1) {
      mid.push([i0 + i++, j0 + j++]);
    } else if (len[(i + 1) * (m + 1) + j]! >= len[i * (m + 1) + j + 1]!) i++;
    else j++;
  }
  return [...head, ...mid, ...tail];
}

/** Whether two sources share at least SIMILAR of their lines (of their characters, for one-line sources). */
function similar(a: Cell, b: Cell): boolean {
  const sa = sourceText(a);
  const sb = sourceText(b);
  const oneLine = !sa.includes('\n') && !sb.includes('\n') && sa.length <= MAX_CHARS && sb.length <= MAX_CHARS;
  const ta = oneLine ? [...sa] : sa.split('\n');
  const tb = oneLine ? [...sb] : sb.split('\n');
  if (ta.length + tb.length === 0) return true;
  const common = lcs(0, ta.length, 0, tb.length, (i, j) => ta[i] === tb[j]).length;
  return (2 * common) / (ta.length + tb.length) >= SIMILAR;
}
