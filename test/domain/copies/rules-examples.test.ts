/**
 * The update rules of a user's copy (src/domain/copies/rules.ts), by example: each rule of the
 * issue, the names beside a conflict, merges and folder/file swaps. The property-based tests are
 * in rules.test.ts.
 *
 *   node --import tsx --test test/domain/copies/rules-examples.test.ts
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { besideName, planUpdate, type MergeVerdict } from '../../../src/domain/copies/rules.js';
import { TAG, id, ids, listing } from '../../helpers/copy-scenarios.js';

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

  test('a notebook both changed: listed to merge, then merged or a conflict with its reason', () => {
    const t = (o: Record<string, string>) => ids(new Map(Object.entries(o)));
    const input = {
      base: t({ 'a.ipynb': '1', 'b.ipynb': '1', 'c.txt': '1' }),
      local: listing(new Map(Object.entries({ 'a.ipynb': 'mine', 'b.ipynb': 'mine', 'c.txt': 'mine' }))),
      upstream: t({ 'a.ipynb': '2', 'b.ipynb': '2', 'c.txt': '2' }),
      tag: TAG,
    };
    const first = planUpdate(input);
    assert.deepEqual(first.toMerge, ['a.ipynb', 'b.ipynb'], 'notebooks only');
    const cells = { upstream: [3], user: [1], outputsDropped: [] };
    const merges = new Map<string, MergeVerdict>([
      ['a.ipynb', { id: id('merged'), cells }],
      ['b.ipynb', { conflict: 'cell 2 was changed both in your copy and upstream' }],
    ]);
    const plan = planUpdate({ ...input, merges });
    assert.deepEqual(plan.toMerge, []);
    assert.deepEqual(plan.report, [
      { path: 'a.ipynb', outcome: 'merged', cells },
      {
        path: 'b.ipynb',
        outcome: 'conflict',
        upstreamCopy: 'b.upstream-abc1234.ipynb',
        reason: 'cell 2 was changed both in your copy and upstream',
      },
      { path: 'c.txt', outcome: 'conflict', upstreamCopy: 'c.upstream-abc1234.txt' },
    ]);
    assert.deepEqual(plan.actions[0], { op: 'merge', path: 'a.ipynb', id: id('merged'), expect: id('mine') });
    assert.equal(plan.manifest.get('a.ipynb'), id('2'), "the next update merges from upstream's version");
    const noManifest = planUpdate({ ...input, base: new Map() });
    assert.deepEqual(noManifest.toMerge, [], 'nothing known to be delivered: nothing to merge with');
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
