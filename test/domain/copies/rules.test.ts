/**
 * The update rules of a user's copy (src/domain/copies/rules.ts), property-based: thousands of
 * random histories (a delivered tree, the user's edits, deletions, additions and folder/file
 * swaps, upstream's changes, removals and additions), each planned and applied to an in-memory
 * tree that refuses any operation the plan did not justify. The examples are in
 * rules-examples.test.ts.
 *
 *   node --import tsx --test test/domain/copies/rules.test.ts
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isMergeable, planUpdate, type MergeVerdict } from '../../../src/domain/copies/rules.js';
import { TAG, ancestors, apply, id, ids, listing, scenario, type Tree } from '../../helpers/copy-scenarios.js';

describe('update rules (property-based)', () => {
  test('no user edit is ever lost; unchanged files end up equal to upstream; a rerun changes nothing', () => {
    fc.assert(
      fc.property(scenario, ({ base, local, upstream, noManifest }) => {
        const delivered = noManifest ? new Map<string, string>() : base;
        const plan = planUpdate({ base: ids(delivered), upstream: ids(upstream), local: listing(local), tag: TAG });
        const after = apply(local, upstream, plan.actions);
        const outcome = new Map(plan.report.map((r) => [r.path, r]));

        // Every managed file is reported once, in order.
        const managed = [...new Set([...delivered.keys(), ...upstream.keys()])].sort();
        assert.deepEqual(
          plan.report.map((r) => r.path),
          managed,
        );

        for (const [p, mine] of local) {
          if (delivered.get(p) === mine) continue;
          // The user's own content (an edit, or a file they made) is exactly where they left it.
          assert.equal(after.get(p), mine, `user content at ${p} was lost`);
        }
        for (const [p, was] of delivered) {
          if (local.get(p) !== was) continue;
          // Untouched by the user: now upstream's version, or gone with upstream.
          assert.equal(after.get(p), upstream.get(p), `unchanged ${p} is not upstream's (${outcome.get(p)?.outcome})`);
        }
        for (const [p, theirs] of upstream) {
          const r = outcome.get(p)!;
          const userHasSomething =
            local.has(p) || [...local].some(([q, c]) => q.startsWith(`${p}/`) && delivered.get(q) !== c);
          if (!userHasSomething && r.outcome !== 'obstructed') {
            assert.equal(after.get(p), theirs, `${p} (deleted or new) did not come (${r.outcome})`);
          }
          if (r.outcome === 'obstructed') {
            assert.ok(
              ancestors(p).some((a) => local.has(a)),
              `${p} obstructed without a user file in the way`,
            );
          }
          if (r.outcome === 'conflict') {
            assert.notEqual(local.get(p), theirs);
            assert.equal(after.get(r.upstreamCopy!), theirs, `upstream version of ${p} not beside it`);
          }
        }
        // Nothing appears that is neither the user's nor upstream's.
        for (const [p, c] of after) {
          if (local.get(p) === c) continue;
          const r = outcome.get(p) ?? plan.report.find((x) => x.upstreamCopy === p);
          assert.ok(r, `stray write at ${p}`);
        }
        // Converged: with the new manifest, a second update has nothing to do.
        const again = planUpdate({ base: plan.manifest, upstream: ids(upstream), local: listing(after), tag: TAG });
        assert.deepEqual(again.actions, []);
        for (const r of again.report)
          assert.ok(['unchanged', 'kept', 'obstructed'].includes(r.outcome), `rerun: ${r.path} ${r.outcome}`);
      }),
      { numRuns: 2000 },
    );
  });

  test('a crash after any prefix of the actions, then a rerun from the old manifest, converges to the same copy', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), ({ base, local, upstream }, cut) => {
        const first = planUpdate({ base: ids(base), upstream: ids(upstream), local: listing(local), tag: TAG });
        const whole = apply(local, upstream, first.actions);
        const partial = apply(local, upstream, first.actions.slice(0, cut % (first.actions.length + 1)));
        const rerun = planUpdate({ base: ids(base), upstream: ids(upstream), local: listing(partial), tag: TAG });
        assert.deepEqual(apply(partial, upstream, rerun.actions), whole);
        assert.deepEqual(rerun.manifest, first.manifest);
      }),
      { numRuns: 1000 },
    );
  });
});

/**
 * The content merge as the rules see it (the real one, notebook-merge.ts, has its own tests):
 * some pairs merge, others conflict; merging its own result again gives that result (as the
 * real merge does), so a rerun after a crash converges.
 */
function modelMerge(paths: string[], base: Tree, local: Tree, upstream: Tree, mergeable: (p: string) => boolean) {
  const verdicts = new Map<string, MergeVerdict>();
  const contents = new Map<string, string>();
  for (const p of paths) {
    assert.ok(isMergeable(p) && base.has(p) && local.has(p) && upstream.has(p), `${p} is not a merge`);
    if (!mergeable(p)) {
      verdicts.set(p, { conflict: 'changed on both sides' });
      continue;
    }
    const l = local.get(p)!;
    const m = l.startsWith('merged(') ? l : `merged(${l},${upstream.get(p)!})`;
    contents.set(id(m), m);
    verdicts.set(p, { id: id(m), cells: { upstream: [1], user: [2], outputsDropped: [] } });
  }
  return { verdicts, contents };
}

describe('update rules with notebook merges (property-based)', () => {
  test('a merge replaces only the user version it was made from; a rerun, or a crash and a rerun, converges', () => {
    fc.assert(
      fc.property(scenario, fc.func(fc.boolean()), fc.nat(), ({ base, local, upstream }, mergeable, cut) => {
        const input = { base: ids(base), upstream: ids(upstream), tag: TAG };
        const planWithMerges = (copy: Tree) => {
          const first = planUpdate({ ...input, local: listing(copy) });
          const m = modelMerge(first.toMerge, base, copy, upstream, mergeable);
          return { plan: planUpdate({ ...input, local: listing(copy), merges: m.verdicts }), contents: m.contents };
        };
        const { plan, contents } = planWithMerges(local);
        assert.deepEqual(plan.toMerge, [], 'every file to merge has its verdict');
        const after = apply(local, upstream, plan.actions, contents);
        for (const r of plan.report) {
          if (r.outcome === 'merged') {
            assert.ok(isMergeable(r.path) && local.get(r.path) !== base.get(r.path));
            const action = plan.actions.find((a) => a.op === 'merge' && a.path === r.path);
            assert.equal(after.get(r.path), action?.op === 'merge' ? contents.get(action.id) : undefined);
            assert.equal(plan.manifest.get(r.path), id(upstream.get(r.path)!), 'the next base is upstream');
            assert.ok(r.cells);
          }
          if (r.outcome === 'conflict' && isMergeable(r.path) && base.has(r.path)) {
            assert.equal(after.get(r.path), local.get(r.path), 'a notebook that did not merge is untouched');
          }
        }
        for (const [p, mine] of local) {
          if (base.get(p) === mine) continue;
          const r = plan.report.find((x) => x.path === p);
          if (r?.outcome !== 'merged') assert.equal(after.get(p), mine, `user content at ${p} was lost`);
        }
        const again = planUpdate({ base: plan.manifest, upstream: ids(upstream), local: listing(after), tag: TAG });
        assert.deepEqual(again.actions, []);
        assert.deepEqual(again.toMerge, []);
        const partial = apply(local, upstream, plan.actions.slice(0, cut % (plan.actions.length + 1)), contents);
        const rerun = planWithMerges(partial);
        assert.deepEqual(apply(partial, upstream, rerun.plan.actions, rerun.contents), after);
        assert.deepEqual(rerun.plan.manifest, plan.manifest);
      }),
      { numRuns: 1000 },
    );
  });
});
