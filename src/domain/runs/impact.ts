/**
 * Which notebooks a change touches (issue 18, part 2): a merge or pull-request run tests the
 * changed notebooks, the notebooks that import a changed module of the repository (at any depth:
 * impact-imports.ts), the notebooks in or below the folder of a changed data or code file
 * (folderScopes), those `.nblc.yml` declares dependent on a changed file,
 * and everything when a file that defines the environment changes. Pure: the discovery activity
 * reads the notebooks' code cells and `.nblc.yml`, this decides, with a reason per notebook.
 */
import picomatch from 'picomatch';
import { CONTRACT_FILE } from './contract.js';

/** Why a notebook was selected, as the report and `GET /runs/:id` show it. */
export type SelectionReason = string;

/** Files whose change re-tests every notebook: they define what every kernel runs in. */
export const ENVIRONMENT_GLOBS = [
  '**/requirements*.txt',
  '**/environment.yml',
  '**/environment.yaml',
  CONTRACT_FILE,
  '.nblcignore',
];

/**
 * Files beside notebooks that never change what a notebook computes: documentation and
 * repository housekeeping. A README-only merge tests nothing.
 */
export const NO_EFFECT_GLOBS = [
  '**/*.md',
  '**/*.rst',
  '**/README*',
  '**/LICENSE*',
  '**/CHANGELOG*',
  '**/.gitignore',
  '**/.gitattributes',
  '.github/**',
  '**/.ipynb_checkpoints/**',
];

/** The imports one notebook's code cells make, as written (not yet resolved to files). */
export interface ImportScan {
  /** Dotted module names; `level` counts leading dots (relative imports), `names` what `from` imports. */
  modules: Array<{ module: string; level: number; names: string[] }>;
  /** String literals the cells pass to `sys.path.append`/`insert`, as written. */
  sysPaths: string[];
}

const IDENT = String.raw`[A-Za-z_][A-Za-z0-9_]*`;
const DOTTED = String.raw`${IDENT}(?:\s*\.\s*${IDENT})*`;
const IMPORT_RE = new RegExp(String.raw`^import\s+(.+)$`);
const FROM_RE = new RegExp(String.raw`^from\s+(\.*)\s*(${DOTTED})?\s+import\s+(.+)$`);
const SYS_PATH_RE = /sys\s*\.\s*path\s*\.\s*(?:append|insert\s*\(\s*-?\d+\s*,)\s*\(?\s*(?:r?)(['"])([^'"\n]{1,500})\1/g;

/**
 * The imports and `sys.path` literals of code cells, without running them: one logical line at
 * a time (parenthesised `from … import (…)` joined, comments and strings' tails ignored), so an
 * import inside `if`/`try` counts too. IPython magics and shell lines are not Python and are left out.
 */
export function scanImports(sources: readonly string[]): ImportScan {
  const modules: ImportScan['modules'] = [];
  const sysPaths: string[] = [];
  for (const source of sources) {
    for (const m of source.matchAll(SYS_PATH_RE)) sysPaths.push(m[2]!);
    for (const line of logicalLines(source)) {
      for (const statement of line.split(';')) {
        const s = statement.trim();
        const from = FROM_RE.exec(s);
        if (from) {
          const names = from[3]!
            .replace(/[()]/g, ' ')
            .split(',')
            .map((n) => n.trim().split(/\s+/)[0]!)
            .filter((n) => new RegExp(`^${IDENT}$`).test(n));
          const module = (from[2] ?? '').replace(/\s+/g, '');
          modules.push({ module, level: from[1]!.length, names });
          continue;
        }
        const imp = IMPORT_RE.exec(s);
        if (!imp) continue;
        for (const part of imp[1]!.split(',')) {
          const name = part
            .trim()
            .split(/\s+as\s+/)[0]!
            .replace(/\s+/g, '');
          if (new RegExp(`^${DOTTED}$`).test(name)) modules.push({ module: name, level: 0, names: [] });
        }
      }
    }
  }
  return { modules, sysPaths };
}

/** Lines with comments cut and parenthesised continuations joined; magics and shell lines dropped. */
function logicalLines(source: string): string[] {
  const out: string[] = [];
  let pending = '';
  for (const raw of source.split('\n')) {
    const line = raw.replace(/#.*$/, '').trimEnd();
    if (!pending && /^\s*[%!]/.test(line)) continue;
    const joined = pending ? `${pending} ${line.trim()}` : line.trim();
    const open = (joined.match(/\(/g) ?? []).length - (joined.match(/\)/g) ?? []).length;
    if ((open > 0 || joined.endsWith('\\')) && joined.length < 5000) {
      pending = joined.replace(/\\$/, '');
      continue;
    }
    pending = '';
    if (joined) out.push(joined);
  }
  if (pending) out.push(pending);
  return out;
}

/** `a/b/../c` → `a/c`; null when it leaves the repository (or is absolute). */
export function normalizePath(p: string): string | null {
  if (p.startsWith('/') || p.includes('\\') || p.includes('\0')) return null;
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return null;
      out.pop();
    } else out.push(seg);
  }
  return out.join('/');
}

export const dirOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const join = (dir: string, rel: string) => normalizePath(dir ? `${dir}/${rel}` : rel);

/**
 * The repository files a notebook's imports may load: for each directory Python would search
 * (the notebook's folder, the kernel's working directory, and the `sys.path` literals, relative
 * to it), the module's file or package (and its parent packages' `__init__.py`), and for `from
 * m import n` the submodule `m/n` too. Paths outside the repository are dropped.
 */
export function importedFiles(notebookPath: string, scan: ImportScan): string[] {
  return resolveImports(dirOf(notebookPath), importRoots(notebookPath, scan.sysPaths), scan);
}

/**
 * The folders Python searches for a notebook's absolute imports: its own (the kernel's working
 * directory) and the `sys.path` literals its cells (or the modules they load) add, relative to it.
 */
export function importRoots(notebookPath: string, sysPaths: readonly string[]): string[] {
  const folder = dirOf(notebookPath);
  const roots = new Set<string>([folder]);
  for (const p of sysPaths) {
    const r = join(folder, p);
    if (r !== null) roots.add(r);
  }
  return [...roots];
}

/**
 * The files `scan`'s imports may load: absolute ones from each of `roots`, relative ones
 * (`from . import x`, `from ..pkg import y`) from `base`, the importing file's own folder.
 */
export function resolveImports(base: string, roots: readonly string[], scan: ImportScan): string[] {
  const files = new Set<string>();
  const addModule = (root: string, parts: string[]) => {
    for (let i = 1; i <= parts.length; i++) {
      const stem = join(root, parts.slice(0, i).join('/'));
      if (stem === null || stem === '') continue;
      if (i === parts.length) files.add(`${stem}.py`);
      files.add(`${stem}/__init__.py`);
    }
  };
  for (const m of scan.modules) {
    const parts = m.module ? m.module.split('.') : [];
    const bases: string[] = [];
    if (m.level > 0) {
      const up = join(
        base,
        Array(m.level - 1)
          .fill('..')
          .join('/') || '.',
      );
      if (up !== null) bases.push(up);
    } else bases.push(...roots);
    for (const root of bases) {
      if (parts.length) addModule(root, parts);
      for (const n of m.names) addModule(root, [...parts, n]);
    }
  }
  return [...files].sort();
}

export interface ImpactInput {
  /** The paths the change touched (added, modified, deleted), relative to the repository root. */
  changed: readonly string[];
  /** The notebooks that could run (discovery's, in its order). */
  notebooks: readonly string[];
  /**
   * Per notebook, the repository files its imports may load: a list (importedFiles: its own
   * imports), or a map from each file to the modules it is loaded through, in order (an empty
   * list for the notebook's own imports; impact-imports.ts importClosure).
   */
  imports?: Readonly<Record<string, readonly string[] | ReadonlyMap<string, readonly string[]>>>;
  /** `.nblc.yml` `dependencies:`: glob of notebooks → globs of files whose change selects them. */
  dependencies?: Readonly<Record<string, readonly string[]>>;
  /** More files that define the environment (the prerun file, when it is in the repository). */
  environmentFiles?: readonly string[];
}

/**
 * The selected notebooks, in discovery's order, each with every reason it was selected for
 * (`changed`, `imports <path>`, `imports <path> (through <module>)`, `same folder as <path>`,
 * `declared`, `environment`).
 */
export function selectByChange(input: ImpactInput): Map<string, SelectionReason[]> {
  const isEnvironment = picomatch([...ENVIRONMENT_GLOBS, ...(input.environmentFiles ?? [])], { dot: true });
  const noEffect = picomatch(NO_EFFECT_GLOBS, { dot: true, nocase: true });
  const changed = [...new Set(input.changed)];
  const changedSet = new Set(changed);
  const environment = changed.find((p) => isEnvironment(p));
  const reasons = new Map<string, SelectionReason[]>();
  const add = (nb: string, why: SelectionReason) => {
    const list = reasons.get(nb) ?? [];
    if (!list.includes(why)) list.push(why);
    reasons.set(nb, list);
  };
  const folders = folderScopes(
    changed.filter((p) => !p.endsWith('.ipynb') && !noEffect(p) && !isEnvironment(p)),
    input.notebooks,
  );
  const declared = Object.entries(input.dependencies ?? {}).map(([nbGlob, fileGlobs]) => ({
    notebook: picomatch(nbGlob, { dot: true }),
    file: picomatch([...fileGlobs], { dot: true }),
  }));
  for (const nb of input.notebooks) {
    if (environment !== undefined) add(nb, 'environment');
    if (changedSet.has(nb)) add(nb, 'changed');
    const imports = input.imports?.[nb];
    const through = imports instanceof Map ? imports : new Map((imports as string[] | undefined)?.map((f) => [f, []]));
    for (const [f, via] of through) {
      if (changedSet.has(f)) add(nb, via.length ? `imports ${f} (through ${via.join(', ')})` : `imports ${f}`);
    }
    for (const file of folders(nb)) add(nb, `same folder as ${file}`);
    if (declared.some((d) => d.notebook(nb) && changed.some((p) => d.file(p)))) add(nb, 'declared');
  }
  return reasons;
}

/**
 * "Same folder", as NASA's and STScI's notebook CI re-run a directory: a changed file selects
 * every notebook of its folder and of the folders below it. A folder without notebooks under it
 * (`Folder/data/`, `Folder/utils/`) stands for the nearest folder above that has some, so a data
 * file's readers are selected. The repository root is the exception: a file there (or in a
 * top-level folder without notebooks) selects only the notebooks directly at the root, not the
 * whole suite; the files that do define every notebook's environment select everything anyway.
 * Returns, per notebook, a changed file of each folder that selects it.
 */
export function folderScopes(files: readonly string[], notebooks: readonly string[]): (nb: string) => string[] {
  const withNotebooks = new Set<string>();
  for (const nb of notebooks) for (let f = dirOf(nb); f !== ''; f = dirOf(f)) withNotebooks.add(f);
  // Scope folder ('': the root's own notebooks) → the first changed file that selects it (one
  // reason per folder, however many of its files changed).
  const byScope = new Map<string, string>();
  for (const file of files) {
    let f = dirOf(file);
    while (f !== '' && !withNotebooks.has(f)) f = dirOf(f);
    if (!byScope.has(f)) byScope.set(f, file);
  }
  return (nb) => {
    const scopes = nb.includes('/') ? [] : [''];
    for (let f = dirOf(nb); f !== ''; f = dirOf(f)) scopes.push(f);
    return scopes.flatMap((f) => (byScope.has(f) ? [byScope.get(f)!] : []));
  };
}

/** Whether a change can select a notebook through its imports: it touches a Python file. */
export const touchesPython = (changed: readonly string[]) => changed.some((p) => p.endsWith('.py'));
