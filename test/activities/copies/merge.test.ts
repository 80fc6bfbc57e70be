/**
 * Updates of notebooks both the user and upstream changed, through the real update activity: a
 * real private clone (the delivered version comes from its blobs), published snapshots, the
 * user's copy on disk; as root also run as the copy's owner (the child process of as-owner.ts).
 *
 *   node --import tsx --test test/activities/copies/merge.test.ts
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { readCopyManifest } from '../../../src/activities/copies/manifest.js';
import type { FileReport } from '../../../src/domain/copies/model.js';
import { request, runCopy, setup } from '../../helpers/copies.js';
import { nb, parse, sources, upstreamRepo, type CellSpec } from '../../helpers/notebook-copies.js';

const NB = 'Intro/Tutorial.ipynb';
const cells = (n: number, edit: Record<number, Partial<CellSpec>> = {}): CellSpec[] =>
  Array.from({ length: n }, (_, i) => ({ source: `x${i + 1} = ${i + 1}`, id: `cell-${i}`, ...edit[i + 1] }));

/** A copy of ada's provisioned from `base`; `owner`: her directory belongs to that uid (root only). */
async function scenario(base: string, owner?: number) {
  const s = await setup();
  const up = await upstreamRepo(s.config, s.dir);
  await up.publish({ [NB]: base, 'README.md': 'hi\n' });
  if (owner !== undefined) await fs.chown(s.ada, owner, owner);
  await runCopy(s.acts.provisionCopy, 'ada', request('provision'));
  const file = path.join(s.ada, 'notebooks', NB);
  return {
    ...s,
    up,
    file,
    edit: async (text: string) => {
      await fs.writeFile(file, text);
      if (owner !== undefined) await fs.chown(file, owner, owner);
    },
    update: async () => {
      const res = await runCopy(s.acts.updateCopy, 'ada', request('update'));
      return { res, report: res.files.find((f) => f.path === NB)!, text: await fs.readFile(file, 'utf8') };
    },
  };
}

const outputsOf = (text: string) => parse(text).cells.map((c) => JSON.stringify(c.outputs ?? null));

for (const owner of [undefined, ...(process.getuid?.() === 0 ? [4242] : [])]) {
  describe(`merged updates${owner ? ' (as the owner, uid 4242)' : ''}`, () => {
    test('the user edited cell 2 and upstream cell 5: both edits, her outputs kept where untouched', async () => {
      const s = await scenario(nb(cells(6)), owner);
      await s.edit(nb(cells(6, { 1: { ran: '1\n' }, 2: { source: 'x2 = 20', ran: '20\n' } })));
      await s.up.publish({ [NB]: nb(cells(6, { 5: { source: 'x5 = 50' } })) });
      const { report, text } = await s.update();
      assert.equal(report.outcome, 'merged');
      assert.deepEqual(report.cells, { upstream: [5], user: [2], outputsDropped: [] });
      assert.deepEqual(sources(text), ['x1 = 1', 'x2 = 20', 'x3 = 3', 'x4 = 4', 'x5 = 50', 'x6 = 6']);
      assert.match(outputsOf(text)[0]!, /1\\n/, 'her outputs of the untouched cell 1');
      assert.match(outputsOf(text)[1]!, /20\\n/, 'her outputs of her cell 2');
      const manifest = await readCopyManifest(path.join(s.ada, 'notebooks'));
      assert.equal(manifest?.report.find((f) => f.path === NB)?.outcome, 'merged');
      assert.deepEqual(await fs.readdir(path.dirname(s.file)), ['Tutorial.ipynb'], 'nothing beside it');
      if (owner) assert.equal((await fs.stat(s.file)).uid, owner, 'still hers');
    });

    test('the user only ran the notebook: upstream code, her outputs dropped only where the code changed', async () => {
      const s = await scenario(nb(cells(4)), owner);
      const ran = cells(4, { 1: { ran: 'a\n' }, 2: { ran: 'b\n', count: 2 }, 3: { ran: 'c\n', count: 3 } });
      await s.edit(nb(ran, { metadata: { kernelspec: { name: 'python3', display_name: 'Python 3' }, widgets: {} } }));
      await s.up.publish({ [NB]: nb(cells(4, { 3: { source: 'x3 = "fixed URL"' } })) });
      const { report, text } = await s.update();
      assert.equal(report.outcome, 'merged');
      assert.deepEqual(report.cells, { upstream: [3], user: [], outputsDropped: [3] });
      assert.deepEqual(sources(text), ['x1 = 1', 'x2 = 2', 'x3 = "fixed URL"', 'x4 = 4']);
      const outs = outputsOf(text);
      assert.match(outs[0]!, /a\\n/);
      assert.match(outs[1]!, /b\\n/);
      assert.equal(outs[2], '[]', "upstream's (empty) outputs where upstream changed the code");
    });

    test('both edited cell 3: a conflict, her bytes untouched, upstream beside', async () => {
      const s = await scenario(nb(cells(4)), owner);
      const mine = nb(cells(4, { 3: { source: 'x3 = "mine"' } })).replace(/\n/g, '\r\n');
      await s.edit(mine);
      const theirs = nb(cells(4, { 3: { source: 'x3 = "theirs"' }, 4: { source: 'x4 = 40' } }));
      const sha = await s.up.publish({ [NB]: theirs });
      const { report, text } = await s.update();
      assert.equal(report.outcome, 'conflict');
      assert.match(report.reason ?? '', /cell 3 \(id cell-2\) was changed both in your copy and upstream/);
      assert.equal(text, mine, 'byte for byte');
      const beside = path.join(s.ada, 'notebooks', report.upstreamCopy!);
      assert.equal(report.upstreamCopy, `Intro/Tutorial.upstream-${sha.slice(0, 7)}.ipynb`);
      assert.equal(await fs.readFile(beside, 'utf8'), theirs);
    });

    test('upstream inserted a cell while the user deleted another: both applied', async () => {
      const s = await scenario(nb(cells(5)), owner);
      await s.edit(nb(cells(5).filter((_, i) => i !== 1)));
      const inserted = cells(5);
      inserted.splice(3, 0, { source: 'print("new upstream cell")', id: 'new-1' });
      await s.up.publish({ [NB]: nb(inserted) });
      const { report, text } = await s.update();
      assert.equal(report.outcome, 'merged');
      assert.deepEqual(sources(text), ['x1 = 1', 'x3 = 3', 'print("new upstream cell")', 'x4 = 4', 'x5 = 5']);
      assert.deepEqual(report.cells?.upstream, [3]);
    });

    test('notebooks without cell ids are matched by their sources', async () => {
      const s = await scenario(nb(cells(5), { ids: false }), owner);
      const mine = cells(5, { 2: { source: 'x2 = 2  # my note' } });
      mine.push({ source: '# my own cell', type: 'markdown' });
      await s.edit(nb(mine, { ids: false }));
      const theirs = cells(5, { 4: { source: 'x4 = 4.5' } });
      theirs.splice(0, 1);
      await s.up.publish({ [NB]: nb(theirs, { ids: false }) });
      const { report, text } = await s.update();
      assert.equal(report.outcome, 'merged', report.reason);
      assert.deepEqual(sources(text), ['x2 = 2  # my note', 'x3 = 3', 'x4 = 4.5', 'x5 = 5', '# my own cell']);
      assert.equal(
        parse(text).cells.some((c) => 'id' in c),
        false,
        'still nbformat 4.4: no ids',
      );
    });

    test('three updates in a row, with edits between them: no edit is ever lost', async () => {
      const s = await scenario(nb(cells(6)), owner);
      const edits: Array<[number, string]> = [];
      let upstreamCells = cells(6);
      let mine = cells(6);
      for (const round of [1, 2, 3]) {
        // She edits a cell of her own each round; upstream edits another, and adds one.
        const hers = round; // cells 1, 2, 3
        mine = parse(await fs.readFile(s.file, 'utf8')).cells.map((c, i) => ({
          source: [c.source].flat().join(''),
          id: c.id,
          ...(i === hers - 1 ? { source: `x${hers} = "ada ${round}"` } : {}),
        }));
        edits.push([hers, `x${hers} = "ada ${round}"`]);
        await s.edit(nb(mine));
        upstreamCells = upstreamCells.map((c, i) =>
          i === 3 + round - 1 ? { ...c, source: `x${i + 1} = "up ${round}"` } : c,
        );
        upstreamCells.push({ source: `print(${round})`, id: `added-${round}` });
        await s.up.publish({ [NB]: nb(upstreamCells) });
        const { report, text } = await s.update();
        assert.equal(report.outcome, 'merged', `round ${round}: ${report.reason}`);
        for (const [, src] of edits) assert.ok(sources(text).includes(src), `round ${round}: lost ${src}`);
        assert.ok(sources(text).includes(`x${3 + round} = "up ${round}"`), `round ${round}: upstream's edit`);
        assert.ok(sources(text).includes(`print(${round})`));
      }
      const again = await s.update();
      assert.equal(again.report.outcome, 'kept', 'upstream did not change since: nothing to merge');
    });
  });
}

describe('merged updates: what cannot be merged stays a conflict', () => {
  test('without the delivered version (its commit gone from the clone) a notebook is a conflict, as before', async () => {
    const s = await scenario(nb(cells(3)));
    await s.edit(nb(cells(3, { 1: { source: 'mine' } })));
    await s.up.publish({ [NB]: nb(cells(3, { 3: { source: 'theirs' } })) });
    await fs.rm(path.join(s.config.dataDir, 'repo.git'), { recursive: true });
    await fs.mkdir(path.join(s.config.dataDir, 'repo.git'));
    const { report }: { report: FileReport } = await s.update();
    assert.equal(report.outcome, 'conflict');
    assert.match(report.reason ?? '', /not available to merge with/);
  });
});
