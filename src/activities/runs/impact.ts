/**
 * The file side of selection by change (src/domain/runs/impact.ts): reads what the pure rule
 * needs from the run's snapshot (each notebook's code cells for its imports, `.nblc.yml`'s
 * `dependencies:`) and records why each notebook was selected in the run's record, from which
 * the report, `GET /runs/:id` and the commit status ("no notebooks affected") say it.
 */
import path from 'node:path';
import { CONTRACT_FILE, parseContractFile } from '../../domain/runs/contract.js';
import { scanImports, selectByChange, touchesPython, type ImportScan } from '../../domain/runs/impact.js';
import { importClosure, MODULE_SCAN_LIMITS } from '../../domain/runs/impact-imports.js';
import { READ_CONCURRENCY } from '../../domain/runs/run-dir.js';
import { readCapped } from '../../platform/capped-read.js';
import { mapLimit } from '../files.js';
import { realComponents } from '../untrusted.js';
import { readNotebookCells } from './notebook-file.js';
import { readTextOrNull } from '../../platform/capped-read.js';

/** `.nblc.yml` is a few settings (like contracts.ts's cap). */
const MAX_CONTRACT_FILE_BYTES = 64 * 2 ** 10;

/**
 * The notebooks of `found` (discovery's, in its order) that the change touches, and why each.
 * `prerunFile` (NBLC_PRERUN_FILE) counts as an environment file when it lies in a published
 * snapshot (`$NBLC_CACHE_DIR/current/…` or `snapshots/<sha>/…`): then it is a repository file.
 */
export async function selectAffected(opts: {
  root: string;
  found: string[];
  changed: string[];
  cacheDir: string;
  prerunFile?: string;
}): Promise<{ paths: string[]; reasons: Record<string, string[]>; warnings: string[] }> {
  const dependencies = await readDependencies(opts.root);
  const environmentFiles = repositoryPath(opts.cacheDir, opts.prerunFile);
  // Only a Python change can select through imports: otherwise no notebook is read.
  const scan = touchesPython(opts.changed) ? await importsOf(opts.root, opts.found) : { closures: {}, cut: null };
  const imports = scan.closures;
  const selected = selectByChange({
    changed: opts.changed,
    notebooks: opts.found,
    imports,
    dependencies,
    environmentFiles: environmentFiles ? [environmentFiles] : [],
  });
  const paths = opts.found.filter((p) => selected.has(p));
  // A scan cut short is said in the report: a notebook that imports a changed module through
  // modules past the limit is not selected (the scheduled run still tests it).
  const warnings = scan.cut
    ? [
        `the import scan stopped at ${scan.cut}: a notebook that imports a changed module only through modules past that point was not selected by this change (the scheduled run tests it)`,
      ]
    : [];
  return { paths, reasons: Object.fromEntries(paths.map((p) => [p, selected.get(p)!])), warnings };
}

/**
 * Per notebook, every repository file its imports may load, at any depth, with the modules it
 * is loaded through (importClosure). The modules are read round by round, as the closures reach
 * them, each once for all notebooks, within MODULE_SCAN_LIMITS: past a limit the closures stop
 * growing (a deeper importer may then be missed; the nightly run still tests it), and `cut` says
 * which limit stopped them.
 */
async function importsOf(
  root: string,
  notebooks: string[],
): Promise<{ closures: Record<string, Map<string, string[]>>; cut: string | null }> {
  const scans = new Map<string, ImportScan>();
  await mapLimit(notebooks, READ_CONCURRENCY, async (nb) => {
    const read = await readNotebookCells(path.join(root, nb));
    if (read) scans.set(nb, scanImports(read.cells.filter((c) => c.cell_type === 'code').map((c) => c.source)));
  });
  const modules = new Map<string, ImportScan>();
  const tried = new Set<string>();
  const budget = { files: MODULE_SCAN_LIMITS.files, bytes: MODULE_SCAN_LIMITS.totalBytes, refused: false };
  for (;;) {
    const closures = new Map([...scans].map(([nb, scan]) => [nb, importClosure(nb, scan, modules)]));
    const pending = new Set<string>();
    for (const closure of closures.values())
      for (const f of closure.keys()) if (f.endsWith('.py') && !tried.has(f)) pending.add(f);
    const room = MODULE_SCAN_LIMITS.lookups - tried.size;
    const exhausted = budget.files <= 0 || budget.bytes <= 0;
    if (pending.size === 0 || room <= 0 || exhausted) {
      // Cut short: files left unread for want of budget, or still to look up.
      const unread = budget.refused || (exhausted && pending.size > 0);
      const cut = unread
        ? budget.files <= 0
          ? `${MODULE_SCAN_LIMITS.files} module files`
          : `${MODULE_SCAN_LIMITS.totalBytes / 2 ** 20} MiB of modules`
        : pending.size > 0
          ? `${MODULE_SCAN_LIMITS.lookups} module lookups`
          : null;
      return { closures: Object.fromEntries(closures), cut };
    }
    const batch = [...pending].slice(0, room);
    for (const f of batch) tried.add(f);
    await mapLimit(batch, READ_CONCURRENCY, async (f) => {
      const text = await readModule(root, f, budget);
      if (text !== null) modules.set(f, scanImports([text]));
    });
  }
}

/**
 * A module's text, when it is a regular file of the snapshot reached through real folders (no
 * link followed anywhere on its path), within the per-file cap and what is left of the budget.
 */
async function readModule(
  root: string,
  file: string,
  budget: { files: number; bytes: number; refused: boolean },
): Promise<string | null> {
  const folder = path.posix.dirname(file);
  if (
    folder !== '.' &&
    !(await realComponents(root, folder, 'import', false).then(
      () => true,
      () => false,
    ))
  )
    return null;
  if (budget.files <= 0 || budget.bytes <= 0) {
    budget.refused = true; // the scan is cut short here: importClosure stops at this file
    return null;
  }
  budget.files--; // reserved before the read: reads run side by side
  const read = await readCapped(path.join(root, file), Math.min(MODULE_SCAN_LIMITS.fileBytes, budget.bytes));
  if (read.kind === 'missing') budget.files++; // a lookup, not a read
  if (read.kind !== 'text') return null;
  budget.bytes -= Buffer.byteLength(read.text);
  return read.text;
}

/** `.nblc.yml`'s `dependencies:`; none when the file is absent, a link, too large or invalid. */
async function readDependencies(root: string): Promise<Record<string, string[]>> {
  const text = await readTextOrNull(path.join(root, CONTRACT_FILE), MAX_CONTRACT_FILE_BYTES);
  if (text === null) return {};
  // A file that does not validate: the contracts step reports it; a change to it selects everything anyway.
  const parsed = parseContractFile(text);
  return 'file' in parsed ? (parsed.file.dependencies ?? {}) : {};
}

/** The prerun file's path in the repository, when it is a file of a published snapshot. */
function repositoryPath(cacheDir: string, file: string | undefined): string | undefined {
  if (!file) return undefined;
  const rel = path.relative(cacheDir, path.resolve(file)).split(path.sep);
  if (rel[0] === 'current' && rel.length > 1) return rel.slice(1).join('/');
  if (rel[0] === 'snapshots' && rel.length > 2) return rel.slice(2).join('/');
  return undefined;
}
