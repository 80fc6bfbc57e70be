/**
 * The workflow bundle, built by webpack once per source and kept on disk. Bundling takes ~4 s
 * (~7 CPU-s on 2 cores) and the SDK does it at every worker start: the demo paid it on every run,
 * and the tests once per file. A bundle is reused only when every input that could change it is
 * the same: the SDK's version, the lock file, and every source file under src/ (more than the
 * workflows import, on purpose: a missed input would run stale workflow code, an extra one costs
 * a rebuild).
 */
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { glob } from 'tinyglobby';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const WORKFLOWS_PATH = path.join(ROOT, 'src', 'workflows', 'index.ts');
/** Where bundles are kept: beside the packages they were built from, like other tools' caches. */
export const BUNDLE_CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'nblc-workflows');
/** Bundles of earlier sources kept (a checkout switched back and forth between branches). */
const KEEP = 4;

const noop = () => undefined;
/** webpack's progress lines are noise in a worker's log; its errors are not. */
const quietBundlerLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error };

/** The hash of everything a bundle of `workflowsPath` is built from. */
export async function bundleKey(workflowsPath = WORKFLOWS_PATH, root = ROOT): Promise<string> {
  const hash = createHash('sha256');
  const sdk = JSON.parse(await fs.readFile(path.join(root, 'node_modules/@temporalio/worker/package.json'), 'utf8'));
  hash.update(`sdk ${sdk.version}\0workflows ${path.relative(root, workflowsPath)}\0`);
  const files = (await glob(['src/**/*', 'package-lock.json', 'tsconfig.json'], { cwd: root, dot: true })).sort();
  for (const file of files) {
    // Path and content, each length-prefixed, so no two file sets hash alike.
    const content = await fs.readFile(path.join(root, file));
    hash.update(`${file.length}:${file}${content.length}:`);
    hash.update(content);
  }
  return hash.digest('hex').slice(0, 32);
}

/**
 * The bundle for the current sources: read from the cache, else built and saved (atomically: a
 * reader never sees half a bundle, and workers building it at once each write a whole one). A
 * cache that cannot be written (a read-only image) only means the next start builds it again.
 */
export async function workflowBundle(
  workflowsPath = WORKFLOWS_PATH,
  cacheDir = BUNDLE_CACHE_DIR,
): Promise<WorkflowBundleWithSourceMap> {
  const file = path.join(cacheDir, `${await bundleKey(workflowsPath)}.js`);
  const cached = await fs.readFile(file, 'utf8').catch(() => null);
  if (cached) return { code: cached, sourceMap: '' };
  const bundle = await bundleWorkflowCode({ workflowsPath, logger: quietBundlerLogger });
  await save(file, bundle.code).catch(noop);
  return bundle;
}

async function save(file: string, code: string): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(tmp, code);
  await fs.rename(tmp, file);
  // Only the newest few: every source change leaves a 2 MB bundle behind.
  const entries = await fs.readdir(dir);
  const bundles = await Promise.all(
    entries
      .filter((e) => e.endsWith('.js'))
      .map(async (e) => ({ e, t: (await fs.stat(path.join(dir, e)).catch(() => null))?.mtimeMs ?? 0 })),
  );
  bundles.sort((a, b) => b.t - a.t);
  for (const { e } of bundles.slice(KEEP)) await fs.rm(path.join(dir, e), { force: true });
}
