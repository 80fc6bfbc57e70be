// Plain JavaScript: it runs before tsx is loaded (bin/nblc.js).
//
// `nblc` runs its TypeScript sources without a build step. Through tsx's loader every module
// (node_modules too) passes through its hooks on another thread: `nblc --version` took 2.6 s
// and ~4 CPU-s, paid by every command an operator or a test runs. Instead, the sources under
// src/ are bundled by esbuild (tsx's own), once per source, and kept in node_modules/.cache/
// nblc-cli/<key>/ beside the workflow bundle; packages stay imports of their own.
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
 * The bundle of src/main.ts for the current sources (its main.mjs), built when missing. Split
 * into chunks: each command's modules, and the packages only they import, load when it runs
 * (src/main.ts). A module's `import.meta.dirname` and `import.meta.url` are its own source
 * file's, written in as literals: the sources find the project's files (python/, the workflows)
 * from where they are.
 */
export async function cliBundle(root = ROOT, dir = CLI_BUNDLE_DIR) {
  const out = await cachedBuild(dir, cliBundleKey(root), { entryPoints: [path.join(root, 'src', 'main.ts')] });
  return path.join(out, 'main.mjs');
}

/**
 * esbuild's bundle of `options.entryPoints` in `cacheDir`/`key`/, built when missing: ES modules
 * for Node, shared code split into chunks, packages left as imports, each source's own location
 * (ownMetaPlugin). Built in a temporary folder and renamed into place: a half-written build is
 * never run, and of two processes building the same key the first one's stays. Only the newest
 * `keep` builds are kept. Also scripts/test-bundles.js's.
 */
export async function cachedBuild(cacheDir, key, options, keep = KEEP) {
  const dir = path.join(cacheDir, key);
  if (fs.existsSync(dir)) return dir;
  fs.mkdirSync(cacheDir, { recursive: true });
  const tmp = `${dir}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await esbuild().build({
      bundle: true,
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      outExtension: { '.js': '.mjs' },
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'silent',
      plugins: [ownMetaPlugin],
      ...options,
      outdir: tmp,
    });
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      // Another process built the same sources first: theirs is as good.
      if (!fs.existsSync(dir)) throw err;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  prune(cacheDir, keep, (e) => !e.endsWith('.tmp'));
  return dir;
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
function prune(dir, keep, isBundle) {
  const bundles = fs
    .readdirSync(dir)
    .filter(isBundle)
    .map((e) => ({ e, t: fs.statSync(path.join(dir, e), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.t - a.t);
  for (const { e } of bundles.slice(keep)) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
}
