/**
 * The one run-directory rule (src/domain/runs/run-dir.ts): what the API, the stores and the
 * activities accept as a run ID, so none of them can be walked out of the results root.
 *   node --import tsx --test test/domain/runs/run-dir.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { runIdFromWorkflowId } from '../../../src/domain/runs/model.js';
import { isRunDirName, MAX_RUN_ID_LENGTH } from '../../../src/domain/runs/run-dir.js';

test('the run IDs nblc makes are run directory names', () => {
  for (const workflowId of [
    'test-run:manual-2026-12-07T05-00-00-000Z-ab12',
    'test-run:scheduled-2026-12-07T03:00:00Z',
    'test-run:pr-12-0123456789ab',
    'test-run:merge-0123456789abcdef0123456789abcdef01234567',
  ]) {
    const runId = runIdFromWorkflowId(workflowId);
    assert.ok(isRunDirName(runId), runId);
  }
  assert.ok(isRunDirName('x'.repeat(MAX_RUN_ID_LENGTH)));
});

test('nothing hidden, nothing that climbs out, nothing too long: a run ID of only dots is refused', () => {
  for (const bad of [
    '',
    '.',
    '..',
    '...',
    '....',
    '.hidden',
    'a/b',
    '../etc',
    'a\\b',
    'a b',
    'é',
    'x'.repeat(201),
    'a\0',
  ]) {
    assert.equal(isRunDirName(bad), false, JSON.stringify(bad));
  }
});

test('whatever a run ID is, accepted means one plain directory name below the results root', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom('.', '/', 'a', '-', '_', '\\', ' ', '0'), maxLength: 12 }), (id) => {
      if (!isRunDirName(id)) return;
      assert.ok(!id.startsWith('.') && !id.includes('/') && !id.includes('\\') && id.length > 0, id);
    }),
  );
});
