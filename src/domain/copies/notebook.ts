/**
 * Jupyter notebooks as the cell-level merge of users' copies sees them (notebook-merge.ts): read
 * and validated against nbformat's own v4 JSON schemas (vendored in ./nbformat, checked with Ajv,
 * a maintained JSON Schema validator), written back the way Jupyter writes them, and split into
 * what a person edits (cell types, sources, attachments, metadata) and what running a notebook
 * writes (outputs, execution counts, the metadata Jupyter and widgets record on a run).
 * Pure: no file system, no clock.
 */
import AjvDraft04 from 'ajv-draft-04';
import type { ValidateFunction } from 'ajv';
import v40 from './nbformat/nbformat.v4.0.schema.json' with { type: 'json' };
import v41 from './nbformat/nbformat.v4.1.schema.json' with { type: 'json' };
import v42 from './nbformat/nbformat.v4.2.schema.json' with { type: 'json' };
import v43 from './nbformat/nbformat.v4.3.schema.json' with { type: 'json' };
import v44 from './nbformat/nbformat.v4.4.schema.json' with { type: 'json' };
import v45 from './nbformat/nbformat.v4.5.schema.json' with { type: 'json' };

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Cell extends JsonObject {
  cell_type: string;
  source: string | string[];
}

export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: JsonObject;
  cells: Cell[];
}

/** The newest minor version whose schema nblc carries; newer notebooks are checked against it, as nbformat does. */
export const NEWEST_MINOR = 5;
/** The first minor version in which cells carry ids. */
export const IDS_FROM_MINOR = 5;

const SCHEMAS = [v40, v41, v42, v43, v44, v45];
// `strict: false`: the schemas use keywords of their own (e.g. descriptions in odd places) that are
// not errors in draft 4; `validateFormats: false`: nbformat does not check formats either.
const ajv = new AjvDraft04.default({ strict: false, allErrors: false, validateFormats: false });
const validators: Array<ValidateFunction | undefined> = [];

/** The compiled schema of a minor version (compiled on first use: six schemas cost ~50 ms). */
function validatorFor(minor: number): ValidateFunction {
  const i = Math.min(Math.max(minor, 0), NEWEST_MINOR);
  const v = validators[i] ?? ajv.compile(SCHEMAS[i] as object);
  validators[i] = v;
  return v;
}

/**
 * Why `value` is not a valid v4 notebook, or null when it is: the schema of its minor version,
 * and (like nbformat's validator) cell ids unique within the notebook.
 */
export function notebookProblem(value: unknown): string | null {
  if (!isObject(value)) return 'not a JSON object';
  if (value.nbformat !== 4) return `nbformat ${JSON.stringify(value.nbformat)}: only version 4 notebooks are merged`;
  const minor = value.nbformat_minor;
  if (typeof minor !== 'number' || !Number.isInteger(minor) || minor < 0) return 'nbformat_minor is not a version';
  const validate = validatorFor(minor);
  if (!validate(value)) {
    const e = validate.errors?.[0];
    return `not a valid notebook (nbformat 4.${minor} schema): ${e?.instancePath || '/'} ${e?.message ?? ''}`.trim();
  }
  const ids = new Set<string>();
  for (const c of (value as unknown as Notebook).cells) {
    if (typeof c.id !== 'string') continue;
    if (ids.has(c.id)) return `cell id ${c.id} appears twice`;
    ids.add(c.id);
  }
  return null;
}

/** The notebook in `text`, or why it is not one. */
export function parseNotebook(text: string): { ok: true; notebook: Notebook } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const problem = notebookProblem(value);
  return problem ? { ok: false, reason: problem } : { ok: true, notebook: value as Notebook };
}

/** Jupyter's way of writing a notebook (nbformat.writes): keys sorted, one-space indent, a final newline. */
export function notebookText(nb: Notebook): string {
  return `${JSON.stringify(sortKeys(nb as unknown as Json), null, 1)}\n`;
}

function sortKeys(v: Json): Json {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys(v[k]!)]),
  );
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep equality of JSON values (object key order does not matter, as in the file it does not). */
export function same(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  }
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => k in b && same(a[k], b[k]));
}

/** A cell's source as one string (the file may hold it as a list of lines). */
export const sourceText = (c: Cell): string => (Array.isArray(c.source) ? c.source.join('') : c.source);

/** Cell metadata Jupyter writes when a cell runs or its output is folded: not an edit. */
export const RUN_CELL_METADATA = ['collapsed', 'scrolled', 'execution'] as const;
/** Notebook metadata the kernel and widgets write on a run: not an edit. */
export const RUN_NOTEBOOK_METADATA = ['widgets', 'language_info'] as const;

/** Metadata without the keys in `drop`. */
export function withoutKeys(m: Json | undefined, drop: readonly string[]): JsonObject {
  if (!isObject(m)) return {};
  return Object.fromEntries(Object.entries(m).filter(([k]) => !drop.includes(k)));
}

/** What running a cell changes: its outputs, its execution count, the run metadata. */
export function runState(c: Cell): JsonObject {
  const meta = isObject(c.metadata) ? c.metadata : {};
  return {
    outputs: c.outputs ?? null,
    execution_count: c.execution_count ?? null,
    meta: Object.fromEntries(RUN_CELL_METADATA.filter((k) => k in meta).map((k) => [k, meta[k]!])),
  };
}

/** What a person edits in a cell: everything but its id and its run state. */
export function cellContent(c: Cell): JsonObject {
  return {
    cell_type: c.cell_type,
    source: sourceText(c),
    attachments: c.attachments ?? null,
    metadata: withoutKeys(c.metadata, RUN_CELL_METADATA),
  };
}

/** Whether a cell has been run: it shows outputs or an execution count. */
export function hasRun(c: Cell): boolean {
  return (Array.isArray(c.outputs) && c.outputs.length > 0) || typeof c.execution_count === 'number';
}

/** Ids as the result's format needs them: none before 4.5; from 4.5 on, one per cell, unique. */
export function withCellIds(cells: Cell[], minor: number): Cell[] {
  if (minor < IDS_FROM_MINOR) {
    return cells.map((c) => {
      const { id: _id, ...rest } = c;
      return rest as Cell;
    });
  }
  const taken = new Set<string>();
  return cells.map((c) => {
    let id = typeof c.id === 'string' && !taken.has(c.id) ? c.id : null;
    for (let n = 0; id === null; n++) {
      const candidate = `nblc-${hash(`${n}\0${c.cell_type}\0${sourceText(c)}`)}`;
      if (!taken.has(candidate)) id = candidate;
    }
    taken.add(id);
    return { ...c, id };
  });
}

/** FNV-1a, 8 hex digits: a stable id for a cell that has none. */
function hash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}
