// Plain JavaScript: it runs before anything loads tsx (scripts/test.sh).
//
// Why: through tsx every module a test file loads (node_modules too) passes its hooks on another
// thread; a file that loads the worker spent ~4 CPU-s just starting (1.7 s from a bundle), and
// the suite starts ~150 of them on a 2-core machine. So the test files are bundled by esbuild
// (tsx's own), the way bin/cli-bundle.js bundles the CLI: one build for all of them, shared code
// split into chunks, packages left as imports, each module's `import.meta.dirname` and `url`
// its source's (fixtures, python/ and the workflows are found from where the sources are), and
// source maps so that failures point into the .ts files. Kept under node_modules/.cache/
// nblc-tests/<hash of src/, test/, bin/, the lock file, tsconfig.json, esbuild>, built in a temporary
// folder and renamed into place (a half-written build is never run).
//
//   node scripts/test-bundles.js   prints the folder of the bundles: test/a/b.test.ts is
//                                  <folder>/test/a/b.test.mjs there
//
// Exits non-zero with the reason when the build fails; test.sh then runs the sources through tsx.
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { cachedBuild, sourcesKey } from '../bin/cli-bundle.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIR = path.join(ROOT, 'node_modules', '.cache', 'nblc-tests');

const testFiles = () =>
  fs
    .readdirSync(path.join(ROOT, 'test'), { recursive: true })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join('test', f))
    .sort();

/** The bundles of these test files, for the current sources. */
const build = (files) =>
  cachedBuild(
    DIR,
    sourcesKey(ROOT, ['src', 'test', 'bin']),
    {
      entryPoints: files.map((f) => path.join(ROOT, f)),
      outbase: ROOT,
      sourcemap: 'linked',
      sourcesContent: false,
    },
    2,
  );

try {
  process.stdout.write(`${await build(testFiles())}\n`);
} catch (err) {
  const detail = err.errors?.map((e) => `${e.location?.file ?? ''}:${e.location?.line ?? ''} ${e.text}`).join('; ');
  process.stderr.write(`test-bundles: ${detail || err.message}\n`);
  process.exit(1);
}
