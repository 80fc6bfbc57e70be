/**
 * Random histories of a user's copy for the property tests of the update rules: a delivered
 * tree, then what the user did (edits, deletions, additions, a file where a folder was) and what
 * upstream did (changes, removals, additions), over paths like a notebooks repository's; and an
 * in-memory copy that applies a plan, refusing any operation the plan did not justify.
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import type { LocalEntry, planUpdate } from '../../src/domain/copies/rules.js';

export type Tree = Map<string, string>; // path → content
/** The short commit of the upstream snapshot in scenarios: names beside files in POOL carry it. */
export const TAG = 'abc1234';

/** Paths like a notebooks repository's, with a folder/file clash (x vs x/…) and names beside others. */
const POOL = [
  'README.md',
  'nb.ipynb',
  'Intro/Hello World.ipynb',
  'Intro/data.csv',
  'Intro/Hello World.upstream-abc1234.ipynb',
  'Deep/a/b/c.ipynb',
  'Deep/a/d.ipynb',
  'Deep/e.ipynb',
  'Deep/a',
  'x',
  'x/y.ipynb',
  'x/z/w.txt',
  'nb.upstream-abc1234.ipynb',
];
const CONTENTS = ['v1', 'v2', 'v3', 'mine'];

export const ancestors = (p: string) =>
  p
    .split('/')
    .slice(0, -1)
    .map((_, i, a) => a.slice(0, i + 1).join('/'));

/** Adds `p` unless it clashes with the tree (a file where a folder is, or the reverse). */
export function fits(tree: Tree, p: string): boolean {
  if (tree.has(p)) return true;
  if (ancestors(p).some((a) => tree.has(a))) return false;
  return ![...tree.keys()].some((q) => q.startsWith(`${p}/`));
}

const change = fc.constantFrom('keep', 'keep', 'edit', 'delete');
const additions = fc.array(fc.tuple(fc.constantFrom(...POOL), fc.constantFrom(...CONTENTS)), { maxLength: 5 });

/** A delivered tree, then what the user and upstream each did to it. */
export const scenario = fc
  .record({
    base: additions,
    userChanges: fc.array(fc.tuple(change, fc.constantFrom(...CONTENTS)), {
      minLength: POOL.length,
      maxLength: POOL.length,
    }),
    userAdds: additions,
    upstreamChanges: fc.array(fc.tuple(change, fc.constantFrom(...CONTENTS)), {
      minLength: POOL.length,
      maxLength: POOL.length,
    }),
    upstreamAdds: additions,
    noManifest: fc.boolean(),
  })
  .map((s) => {
    const base: Tree = new Map();
    for (const [p, c] of s.base) if (fits(base, p)) base.set(p, c);
    const evolve = (changes: Array<[string, string]>, adds: Array<[string, string]>): Tree => {
      const t: Tree = new Map();
      [...base.keys()].forEach((p, i) => {
        const [what, c] = changes[i]!;
        if (what === 'keep') t.set(p, base.get(p)!);
        else if (what === 'edit') t.set(p, c);
      });
      for (const [p, c] of adds) if (fits(t, p) && !t.has(p)) t.set(p, c);
      return t;
    };
    return {
      base,
      local: evolve(s.userChanges, s.userAdds),
      upstream: evolve(s.upstreamChanges, s.upstreamAdds),
      noManifest: s.noManifest,
    };
  });

/** The id the rules see for a content (any injective name does). */
export const id = (content: string) => `sha256:${content}`;

/** A tree as the copy's listing (its folders too). */
export function listing(tree: Tree): Map<string, LocalEntry> {
  const out = new Map<string, LocalEntry>();
  for (const [p, c] of tree) {
    out.set(p, { kind: 'file', id: id(c) });
    for (const a of ancestors(p)) out.set(a, { kind: 'dir' });
  }
  return out;
}

/** A tree as a manifest: path → id. */
export const ids = (tree: Tree) => new Map([...tree].map(([p, c]) => [p, id(c)]));

/**
 * Applies the plan to an in-memory copy, refusing anything that would clobber unexpected content.
 * `merged`: the contents of merged files, by id.
 */
export function apply(
  local: Tree,
  upstream: Tree,
  actions: ReturnType<typeof planUpdate>['actions'],
  merged: ReadonlyMap<string, string> = new Map(),
): Tree {
  const t = new Map(local);
  for (const a of actions) {
    if (a.op === 'merge') {
      assert.equal(id(t.get(a.path) ?? '?'), a.expect, `merge ${a.path}: replaces unexpected content`);
      assert.ok(merged.has(a.id), `merge ${a.path}: no such merged content`);
      t.set(a.path, merged.get(a.id)!);
    } else if (a.op === 'remove') {
      assert.equal(id(t.get(a.path) ?? '?'), a.expect, `remove ${a.path}: not the delivered content`);
      t.delete(a.path);
    } else if (a.op === 'rmdir') {
      assert.ok(![...t.keys()].some((q) => q.startsWith(`${a.path}/`)), `rmdir ${a.path}: not empty`);
    } else {
      assert.ok(!ancestors(a.path).some((x) => t.has(x)), `write ${a.path}: a folder on the way is a file`);
      assert.ok(![...t.keys()].some((q) => q.startsWith(`${a.path}/`)), `write ${a.path}: it is a folder`);
      if (a.expect === null) assert.ok(!t.has(a.path), `write ${a.path}: would clobber a file`);
      else assert.equal(id(t.get(a.path) ?? '?'), a.expect, `write ${a.path}: replaces unexpected content`);
      const content = upstream.get(a.entry);
      assert.ok(content !== undefined && id(content) === a.id);
      t.set(a.path, content);
    }
  }
  return t;
}
