/**
 * Random histories of a user's copy for the property tests of the update rules: a delivered
 * tree, then what the user did (edits, deletions, additions, a file where a folder was) and what
 * upstream did (changes, removals, additions), over paths like a notebooks repository's.
 */
import fc from 'fast-check';

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
