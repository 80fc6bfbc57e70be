/**
 * The update rules of a user's copy (src/domain/copies/rules.ts), property-based: thousands of
 * random histories (a delivered tree, the user's edits, deletions, additions and folder/file
 * swaps, upstream's changes, removals and additions), each planned and applied to an in-memory
 * tree that refuses any operation the plan did not justify.
 *
 *   node --import tsx --test test/domain/copies/rules.test.ts
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { besideName, planUpdate, type LocalEntry } from '../../../src/domain/copies/rules.js';
import { TAG, ancestors, scenario, type Tree } from '../../helpers/copy-scenarios.js';

const id = (content: string) => `sha256:${content}`;

function listing(tree: Tree): Map<string, LocalEntry> {
  const out = new Map<string, LocalEntry>();
  for (const [p, c] of tree) {
    out.set(p, { kind: 'file', id: id(c) });
    for (const a of ancestors(p)) out.set(a, { kind: 'dir' });
  }
  return out;
}

const ids = (tree: Tree) => new Map([...tree].map(([p, c]) => [p, id(c)]));

/** Applies the plan to an in-memory copy, refusing anything that would clobber unexpected content. */
function apply(local: Tree, upstream: Tree, actions: ReturnType<typeof planUpdate>['actions']): Tree {
  const t = new Map(local);
  for (const a of actions) {
    if (a.op === 'remove') {
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

describe('update rules (examples)', () => {
  const run = (base: Record<string, string>, local: Record<string, string>, upstream: Record<string, string>) => {
    const t = (o: Record<string, string>) => new Map(Object.entries(o));
    const plan = planUpdate({ base: ids(t(base)), upstream: ids(t(upstream)), local: listing(t(local)), tag: TAG });
    return { plan, outcomes: Object.fromEntries(plan.report.map((r) => [r.path, r.outcome])) };
  };

  test('each rule of the issue', () => {
    const { outcomes, plan } = run(
      { same: '1', edited: '1', editedOnly: '1', deleted: '1', gone: '1', goneEdited: '1', notMine: '1' },
      { same: '1', edited: 'mine', editedOnly: 'mine', gone: '1', goneEdited: 'mine', notMine: '1', own: 'x' },
      { same: '2', edited: '2', editedOnly: '1', deleted: '2', fresh: '1', notMine: '1' },
    );
    assert.deepEqual(outcomes, {
      same: 'updated',
      edited: 'conflict',
      editedOnly: 'kept',
      deleted: 'restored',
      gone: 'removed',
      goneEdited: 'kept-removed-upstream',
      fresh: 'added',
      notMine: 'unchanged',
    });
    assert.equal(plan.report.find((r) => r.path === 'edited')?.upstreamCopy, 'edited.upstream-abc1234');
    assert.equal(plan.manifest.has('goneEdited'), false, "a kept file removed upstream is the user's now");
  });

  test('the name beside a conflict keeps the extension, and steps aside from names already taken', () => {
    assert.equal(besideName('01 Intro/Hello World.ipynb', TAG), '01 Intro/Hello World.upstream-abc1234.ipynb');
    assert.equal(besideName('.hidden', TAG), '.hidden.upstream-abc1234');
    assert.equal(besideName('a/b.tar.gz', TAG, 2), 'a/b.tar.upstream-abc1234-2.gz');
    const { plan } = run(
      { 'n.ipynb': '1' },
      { 'n.ipynb': 'mine', 'n.upstream-abc1234.ipynb': 'other' },
      { 'n.ipynb': '2' },
    );
    assert.equal(plan.report[0]?.upstreamCopy, 'n.upstream-abc1234-2.ipynb');
  });

  test('the name beside a long name is cut to fit a file name (255 bytes), stays unique and stable', () => {
    const bytes = (p: string) => Buffer.byteLength(p.slice(p.lastIndexOf('/') + 1));
    const names = fc.tuple(
      fc.string({ unit: fc.constantFrom('a', 'é', '日', '🙂', ' ', '.'), minLength: 200, maxLength: 250 }),
      fc.constantFrom('.ipynb', '', '.' + 'x'.repeat(40)),
    );
    fc.assert(
      fc.property(names, names, fc.integer({ min: 1, max: 12 }), ([s1, e1], [s2, e2], n) => {
        const p1 = cutToFit(`dir/${s1}${e1}`);
        const p2 = cutToFit(`dir/${s2}${e2}`);
        const [b1, b2] = [besideName(p1, TAG, n), besideName(p2, TAG, n)];
        assert.ok(bytes(b1) <= 255, `${bytes(b1)} bytes`);
        assert.ok(b1.startsWith('dir/') && b1.includes(`.upstream-${TAG}`));
        assert.equal(besideName(p1, TAG, n), b1, 'stable');
        assert.notEqual(b1, besideName(p1, TAG, n + 1));
        if (p1 !== p2) assert.notEqual(b1, b2, `${p1} / ${p2}`);
      }),
    );
    const long = `Intro/${'Galaxy '.repeat(34)}final.ipynb`;
    assert.match(besideName(long, TAG), /^Intro\/Galaxy .*~[0-9a-f]{8}\.upstream-abc1234\.ipynb$/);
  });

  test('a folder that becomes a file upstream replaces the folder only when the user left nothing in it', () => {
    const clean = run({ 'x/y': '1' }, { 'x/y': '1' }, { x: '2' });
    assert.deepEqual(clean.outcomes, { 'x/y': 'removed', x: 'added' });
    assert.deepEqual(
      clean.plan.actions.map((a) => a.op),
      ['remove', 'rmdir', 'write'],
    );
    const busy = run({ 'x/y': '1' }, { 'x/y': '1', 'x/mine': 'm' }, { x: '2' });
    assert.deepEqual(busy.outcomes, { 'x/y': 'removed', x: 'conflict' });
  });
});

/** `p` with its last name cut to at most 255 UTF-8 bytes (whole characters), as a filesystem holds it. */
function cutToFit(p: string): string {
  const slash = p.lastIndexOf('/');
  let name = p.slice(slash + 1);
  while (Buffer.byteLength(name) > 255) name = [...name].slice(0, -1).join('');
  return p.slice(0, slash + 1) + name;
}
