/**
 * The file side of selection by change (src/domain/runs/impact.ts): reads what the pure rule
 * needs from the run's snapshot (each notebook's code cells for its imports, `.nblc.yml`'s
 * `dependencies:`) and records why each notebook was selected in the run's record, from which
 * the report, `GET /runs/:id` and the commit status ("no notebooks affected") say it.
 */
import path from 'node:path';
import { CONTRACT_FILE, parseContractFile } from '../../domain/runs/contract.js';
import { importedFiles, scanImports, selectByChange, touchesPython } from '../../domain/runs/impact.js';
import { READ_CONCURRENCY } from '../../domain/runs/run-dir.js';
import { mapLimit } from '../files.js';
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
}): Promise<{ paths: string[]; reasons: Record<string, string[]> }> {
  const dependencies = await readDependencies(opts.root);
  const environmentFiles = repositoryPath(opts.cacheDir, opts.prerunFile);
  const imports: Record<string, string[]> = {};
  if (touchesPython(opts.changed)) {
    // Only a Python change can select through imports: otherwise no notebook is read.
    await mapLimit(opts.found, READ_CONCURRENCY, async (nb) => {
      const read = await readNotebookCells(path.join(opts.root, nb));
      if (!read) return;
      const code = read.cells.filter((c) => c.cell_type === 'code').map((c) => c.source);
      imports[nb] = importedFiles(nb, scanImports(code));
    });
  }
  const selected = selectByChange({
    changed: opts.changed,
    notebooks: opts.found,
    imports,
    dependencies,
    environmentFiles: environmentFiles ? [environmentFiles] : [],
  });
  const paths = opts.found.filter((p) => selected.has(p));
  return { paths, reasons: Object.fromEntries(paths.map((p) => [p, selected.get(p)!])) };
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
