// Plain JavaScript: it runs before tsx is loaded (bin/nblc.js).
//
// `nblc` runs its TypeScript sources without a build step. Through tsx's loader every module
// (node_modules too) passes through its hooks on another thread: `nblc --version` took 2.6 s
// and ~4 CPU-s, paid by every command an operator or a test runs. Instead, the sources under
// src/ are bundled into one JavaScript file by esbuild (tsx's own), once per source, and kept in
// node_modules/.cache/nblc-cli/ beside the workflow bundle; packages stay imports of their own.
// Reused only while every file under src/, the lock file, tsconfig.json and esbuild's version
// are the same. Any failure (a read-only install, a bundling error) means running through tsx.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(import.meta.dirname, '..');
export const CLI_BUNDLE_DIR = path.join(ROOT, 'node_modules', '.cache', 'nblc-cli');
const KEEP = 4;

/** esbuild as tsx resolves it (tsx depends on it; nblc does not directly). */
export const esbuild = () => createRequire(import.meta.resolve('tsx'))('esbuild');

/** The hash of everything the bundle is built from. */
export function cliBundleKey(root = ROOT) {
  return sourcesKey(root, ['src']);
}

/**
 * The hash of every file under `dirs` (relative to root), the lock file, tsconfig.json and
 * esbuild's version: what a bundle of those sources depends on. Also scripts/test-bundles.js's.
 */
export function sourcesKey(root, dirs) {
  const hash = createHash('sha256');
  hash.update(`esbuild ${esbuild().version}\0`);
  const files = dirs.flatMap((dir) =>
    fs
      .readdirSync(path.join(root, dir), { recursive: true })
      .map((f) => path.join(dir, f))
      .filter((f) => fs.statSync(path.join(root, f)).isFile()),
  );
  for (const file of [...files.sort(), 'package-lock.json', 'tsconfig.json']) {
    const content = fs.readFileSync(path.join(root, file));
    hash.update(`${file.length}:${file}${content.length}:`);
    hash.update(content);
  }
  return hash.digest('hex').slice(0, 32);
}

/**
 * The bundle of src/main.ts for the current sources, built when missing. A module's
 * `import.meta.dirname` and `import.meta.url` are its own source file's, written in as
 * literals: the sources find the project's files (python/, the workflows) from where they are.
 */
export async function cliBundle(root = ROOT, dir = CLI_BUNDLE_DIR) {
  const file = path.join(dir, `${cliBundleKey(root)}.mjs`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await esbuild().build({
      entryPoints: [path.join(root, 'src', 'main.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile: tmp,
      logLevel: 'silent',
      plugins: [ownMetaPlugin],
    });
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  prune(dir);
  return file;
}

/**
 * The esbuild plugin that gives every source of ours its own location (ownMeta): TypeScript, and
 * plain JavaScript such as this file (which a test bundle includes). Packages are never loaded:
 * they stay imports.
 */
export const ownMetaPlugin = { name: 'nblc-import-meta', setup: (b) => b.onLoad({ filter: /\.m?[jt]s$/ }, ownMeta) };

// Spelled in two parts: this file is itself bundled by the tests' bundles (scripts/test-bundles.js),
// where a whole literal would be rewritten like any other.
const META = ['import', 'meta'].join('.');

/** A source with its own location written in where it asks for it. */
async function ownMeta({ path: file }) {
  const source = await fs.promises.readFile(file, 'utf8');
  return {
    loader: file.endsWith('ts') ? 'ts' : 'js',
    contents: source
      .replaceAll(`${META}.dirname`, JSON.stringify(path.dirname(file)))
      .replaceAll(`${META}.url`, JSON.stringify(pathToFileURL(file).href)),
  };
}

/** Only the newest few: every source change leaves a bundle behind. */
export function prune(dir, keep = KEEP, isBundle = (e) => e.endsWith('.mjs')) {
  const bundles = fs
    .readdirSync(dir)
    .filter(isBundle)
    .map((e) => ({ e, t: fs.statSync(path.join(dir, e), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.t - a.t);
  for (const { e } of bundles.slice(keep)) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
}
