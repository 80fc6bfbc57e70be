/**
 * Each notebook's catalog entry (issue 18, part 3): the fields of the platform's header cell
 * (`__author__`, `__version__ = 'yyyymmdd'`, `__datasets__`, `__keywords__`), read from the
 * literal assignments of its first code cells without running anything, and what a run's failures
 * have in common (a dataset they all read). Pure: the contracts activity reads the cells.
 */

export interface NotebookHeader {
  author?: string;
  version?: string;
  datasets?: string[];
  keywords?: string[];
}

/** The header is at the top: a notebook's first few code cells are looked at, no more. */
export const HEADER_CELLS = 3;
const MAX_FIELD = 500;
const MAX_ITEMS = 50;

const FIELDS: Record<string, keyof NotebookHeader> = {
  __author__: 'author',
  __version__: 'version',
  __datasets__: 'datasets',
  __keywords__: 'keywords',
};

/**
 * The header fields of the first HEADER_CELLS code cells' sources. Only `name = <literal>` at the
 * start of a line counts, the literal a string or a list/tuple of strings (a comma-separated
 * string is split for the list fields); anything else (a call, a name, an f-string) is left out.
 */
export function parseHeader(codeCells: readonly string[]): NotebookHeader {
  const header: NotebookHeader = {};
  for (const source of codeCells.slice(0, HEADER_CELLS)) {
    for (const m of source.matchAll(/^(__(?:author|version|datasets|keywords)__)\s*=\s*(.+)$/gm)) {
      const key = FIELDS[m[1]!]!;
      if (header[key] !== undefined) continue;
      const value = literal(m[2]!.trim());
      if (value === null) continue;
      if (key === 'datasets' || key === 'keywords') {
        const items = (Array.isArray(value) ? value : value.split(','))
          .map((s) => s.trim())
          .filter(Boolean)
          .slice(0, MAX_ITEMS)
          .map((s) => s.slice(0, MAX_FIELD));
        if (items.length) header[key] = items;
      } else if (typeof value === 'string' && value.trim()) {
        header[key] = value.trim().slice(0, MAX_FIELD);
      }
    }
  }
  return header;
}

/** A Python string literal, or a list/tuple of them, at the start of `text` (a trailing comment allowed). */
function literal(text: string): string | string[] | null {
  const open = text[0];
  if (open === '[' || open === '(') {
    const close = open === '[' ? ']' : ')';
    const items: string[] = [];
    let rest = text.slice(1).trimStart();
    while (rest[0] !== close) {
      const s = stringAt(rest);
      if (!s) return null;
      items.push(s.value);
      rest = rest.slice(s.length).trimStart();
      if (rest[0] === ',') rest = rest.slice(1).trimStart();
      else if (rest[0] !== close) return null;
    }
    return trailingOk(rest.slice(1)) ? items : null;
  }
  const s = stringAt(text);
  return s && trailingOk(text.slice(s.length)) ? s.value : null;
}

/** Nothing after the literal but blanks or a comment. */
const trailingOk = (rest: string) => /^\s*(#.*)?$/.test(rest);

/** One single-line string literal ('…' or "…", optional r/u prefix) at the start of `text`. */
function stringAt(text: string): { value: string; length: number } | null {
  const m = /^([rRuU]?)(['"])((?:\\.|(?!\2)[^\\\n])*)\2/.exec(text);
  if (!m) return null;
  const raw = m[1]!.toLowerCase() === 'r';
  const value = raw ? m[3]! : m[3]!.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t' })[c] ?? c);
  return { value, length: m[0].length };
}

/**
 * The datasets that two or more of a run's failing notebooks read, largest first: "3 of the
 * failures read ls_dr9" points at the data service rather than at the notebooks.
 */
export function sharedDatasets(
  failing: readonly string[],
  catalog: Readonly<Record<string, NotebookHeader | undefined>>,
): Array<{ dataset: string; notebooks: string[] }> {
  const by = new Map<string, string[]>();
  for (const p of failing) {
    const datasets = Object.hasOwn(catalog, p) ? (catalog[p]?.datasets ?? []) : [];
    for (const d of new Set(datasets)) by.set(d, [...(by.get(d) ?? []), p]);
  }
  return [...by]
    .filter(([, nbs]) => nbs.length >= 2)
    .map(([dataset, notebooks]) => ({ dataset, notebooks }))
    .sort((a, b) => b.notebooks.length - a.notebooks.length || (a.dataset < b.dataset ? -1 : 1));
}
