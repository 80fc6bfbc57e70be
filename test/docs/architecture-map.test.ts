/**
 * docs/architecture.md's map ("Where things are") is the tree: every folder of src/ and python/
 * that holds source files has its line, naming exactly its files; no line names a file or a
 * folder that is not there. A map that drifts misleads the next reader more than no map.
 *
 *   node --import tsx --test test/docs/architecture-map.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SOURCE = /\.(ts|py)$/;

/** Folder (relative, with a trailing `/`) → its source files' names without extension. */
function tree(dir: string, out = new Map<string, string[]>()): Map<string, string[]> {
  const entries = fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true });
  const files = entries.filter((e) => e.isFile() && SOURCE.test(e.name)).map((e) => e.name.replace(SOURCE, ''));
  if (files.length) out.set(`${dir}/`, files.sort());
  for (const e of entries) {
    // python/tests is the unit tests', not source: the map mentions it in words.
    if (e.isDirectory() && e.name !== '__pycache__' && `${dir}/${e.name}` !== 'python/tests')
      tree(`${dir}/${e.name}`, out);
  }
  return out;
}

/** The map's lines: folder → the names before its `—`. */
function map(): Map<string, string[]> {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Where things are'));
  const block = section.slice(section.indexOf('```\n') + 4, section.indexOf('\n```', section.indexOf('```\n') + 4));
  const out = new Map<string, string[]>();
  for (const line of block.split('\n')) {
    const m = /^((?:src|python)(?:\/[\w.-]+)*\/)\s+(.*?)\s+—\s/.exec(line);
    assert.ok(m, `a map line names a folder, its files and — what it is for: ${line}`);
    assert.ok(!out.has(m[1]!), `${m[1]} has one line`);
    out.set(m[1]!, m[2]!.split(/,\s*/).sort());
  }
  return out;
}

test("docs/architecture.md's map names exactly the source files of every folder", () => {
  const actual = new Map([...tree('src'), ...tree('python')]);
  const documented = map();
  assert.deepEqual([...documented.keys()].sort(), [...actual.keys()].sort(), 'the folders');
  for (const [dir, files] of actual) assert.deepEqual(documented.get(dir), files, `the files of ${dir}`);
});
