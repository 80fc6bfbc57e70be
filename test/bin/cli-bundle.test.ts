// bin/cli-bundle.js: `nblc` runs from a bundle of src/ that is built once per source, rebuilt
// when any source changes, finds the project's files from the sources' own folders, and falls
// back to tsx when it cannot be built.
//   node --import tsx --test test/bin/cli-bundle.test.ts
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
// @ts-expect-error plain JavaScript without types (it runs before tsx is loaded)
import { cliBundle, cliBundleKey, CLI_BUNDLE_DIR } from '../../bin/cli-bundle.js';
import { runNblc } from '../helpers/processes.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nblc-cli-bundle-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A copy of the project's sources and lock file, with node_modules shared. */
function project(name: string): string {
  const root = path.join(dir, name);
  fs.mkdirSync(root);
  fs.cpSync(path.join(ROOT, 'src'), path.join(root, 'src'), { recursive: true });
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json'])
    fs.copyFileSync(path.join(ROOT, f), path.join(root, f));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
  return root;
}

test('nblc runs from the bundle of the current sources; the same sources reuse it', () => {
  const r = runNblc(['--version'], {});
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const bundle = path.join(CLI_BUNDLE_DIR, cliBundleKey(), 'main.mjs');
  assert.ok(fs.existsSync(bundle), 'built for these sources');
  const before = fs.statSync(bundle).mtimeMs;
  assert.equal(runNblc(['--version'], {}).code, 0);
  assert.equal(fs.statSync(bundle).mtimeMs, before, 'reused, not rebuilt');
});

test('a changed source makes a new bundle, whose modules still find their own folders', async () => {
  const root = project('changed');
  const cache = path.join(dir, 'cache');
  const first = await cliBundle(root, cache);
  assert.equal(await cliBundle(root, cache), first);
  fs.appendFileSync(path.join(root, 'src', 'platform', 'config.ts'), '\n// a change\n');
  const second = await cliBundle(root, cache);
  assert.notEqual(second, first);
  const folder = (main: string) => path.basename(path.dirname(main));
  assert.deepEqual(fs.readdirSync(cache).sort(), [folder(first), folder(second)].sort(), 'no temporary folder left');
  // import.meta.dirname is each source's own folder, written in: PROJECT_ROOT is the copy's root.
  const out = path.dirname(second);
  const text = fs
    .readdirSync(out, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.mjs'))
    .map((f) => fs.readFileSync(path.join(out, f), 'utf8'))
    .join('\n');
  assert.ok(text.includes(JSON.stringify(path.join(root, 'src', 'platform'))));
  // (Spelled in parts: this test runs from a bundle too, where the whole literal would be rewritten.)
  assert.ok(!text.includes(['import', 'meta', 'dirname'].join('.')));
});

test('a bundle that cannot be written: nblc runs through tsx, and says nothing of a read-only install', () => {
  const root = project('readonly');
  fs.mkdirSync(path.join(root, 'bin'));
  for (const f of ['nblc.js', 'cli-bundle.js', 'tsx-cache.js'])
    fs.copyFileSync(path.join(ROOT, 'bin', f), path.join(root, 'bin', f));
  // node_modules/.cache/nblc-cli is a file here: mkdir fails (ENOTDIR, not a permission problem).
  fs.rmSync(path.join(root, 'node_modules'));
  fs.mkdirSync(path.join(root, 'node_modules', '.cache'), { recursive: true });
  for (const e of fs.readdirSync(path.join(ROOT, 'node_modules')))
    if (e !== '.cache') fs.symlinkSync(path.join(ROOT, 'node_modules', e), path.join(root, 'node_modules', e));
  fs.writeFileSync(path.join(root, 'node_modules', '.cache', 'nblc-cli'), '');
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'nblc.js'), '--version'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\d+\.\d+\.\d+/);
  assert.match(r.stderr, /nblc: running through tsx: the CLI bundle could not be built/);
});
