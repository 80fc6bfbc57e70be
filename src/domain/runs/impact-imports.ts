/**
 * Imports of imports (issue 18, part 2): a notebook that imports helper A, where A imports the
 * changed helper B, loads B too and must be selected ("imports B (through A)"). Pure: the
 * activity (src/activities/runs/impact.ts) reads the modules' text, capped; this follows them.
 */
import { dirOf, importedFiles, importRoots, resolveImports, type ImportScan } from './impact.js';

/** What one change's scan of the repository's modules may read, at most. */
export const MODULE_SCAN_LIMITS = {
  /** Module files read (each once per run, whichever notebooks import it). */
  files: 2000,
  /** Candidate paths looked up (most do not exist: `import numpy` is not a repository file). */
  lookups: 50_000,
  /** Bytes of one module: larger files are not followed (generated code, vendored data). */
  fileBytes: 2 ** 20,
  /** Bytes of all modules together. */
  totalBytes: 64 * 2 ** 20,
  /** Files in one notebook's closure. */
  closure: 10_000,
};

/**
 * The repository files a notebook may load through its imports, at any depth, each with the
 * modules it is loaded through, in order (empty: the notebook imports it itself). `modules`
 * holds the scans of the module files read so far: a file without one was not found or not
 * read, and is not followed. Breadth first, each file once: a cycle ends, and each file gets its
 * shortest chain. A module's absolute imports resolve from its own folder and from where the
 * notebook's resolve (its folder and the `sys.path` literals of the notebook and of the module,
 * relative to the notebook's folder, the kernel's working directory); relative ones from its folder.
 */
export function importClosure(
  notebookPath: string,
  scan: ImportScan,
  modules: ReadonlyMap<string, ImportScan>,
  maxFiles = MODULE_SCAN_LIMITS.closure,
): Map<string, string[]> {
  const closure = new Map<string, string[]>();
  for (const f of importedFiles(notebookPath, scan)) if (closure.size < maxFiles) closure.set(f, []);
  const queue = [...closure.keys()];
  for (let i = 0; i < queue.length; i++) {
    const file = queue[i]!;
    const module = modules.get(file);
    if (!module) continue;
    const via = [...closure.get(file)!, file];
    const roots = [dirOf(file), ...importRoots(notebookPath, [...scan.sysPaths, ...module.sysPaths])];
    for (const next of resolveImports(dirOf(file), roots, module)) {
      if (closure.has(next) || closure.size >= maxFiles) continue;
      closure.set(next, via);
      queue.push(next);
    }
  }
  return closure;
}
