/**
 * copyRequestProblem, the one check of a copy request (client, API and workflow call it).
 *
 *   node --import tsx --test test/domain/copies/model.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LATEST_LINK, copyRequestProblem } from '../../../src/domain/copies/model.js';

test('acceptable requests', () => {
  for (const req of [
    { mode: 'provision' },
    { mode: 'latest' },
    { mode: 'latest', dir: 'notebooks_20240101_120000' },
    { mode: 'update' },
    { mode: 'update', dir: 'my-copy.v2+x' },
  ]) {
    assert.equal(copyRequestProblem('ada.lovelace_1', req), null, JSON.stringify(req));
  }
});

test('the user name is checked first, then the mode, then the directory', () => {
  for (const user of ['', '..', '.hidden', '-x', 'a/b', 'a\0', 'x'.repeat(65)]) {
    assert.match(copyRequestProblem(user, { mode: 'delete', dir: '../x' }) ?? '', /invalid user name/, user);
  }
  assert.match(copyRequestProblem('ada', { mode: 'delete', dir: '../x' }) ?? '', /unknown mode delete/);
  assert.match(copyRequestProblem('ada', { mode: 'provision', dir: 'x' }) ?? '', /provision takes no directory/);
  for (const dir of ['', '..', '../bob', 'a/b', '.ssh', '-rf', 'x'.repeat(129)]) {
    assert.match(copyRequestProblem('ada', { mode: 'latest', dir }) ?? '', /invalid directory name/, dir);
  }
  assert.match(copyRequestProblem('ada', { mode: 'update', dir: LATEST_LINK }) ?? '', /link to the cache/);
});
