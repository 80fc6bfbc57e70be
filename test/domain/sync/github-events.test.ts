/** What a pull_request delivery asks for: run its head, cancel its runs, or nothing. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pullRequestDecision, pullRequestPayload } from '../../../src/domain/sync/github-events.js';

const HEAD = 'a'.repeat(40);
const payload = (over: { action?: string; headRepo?: string | null; base?: string; repo?: string } = {}) =>
  pullRequestPayload.parse({
    action: over.action ?? 'opened',
    number: 12,
    pull_request: {
      head: { sha: HEAD, repo: over.headRepo === null ? null : { full_name: over.headRepo ?? 'org/notebooks' } },
      base: { ref: over.base ?? 'main', repo: { full_name: 'org/notebooks' } },
    },
    repository: { full_name: over.repo ?? 'org/notebooks' },
  });
const decide = (over: Parameters<typeof payload>[0] = {}) =>
  pullRequestDecision(payload(over), 'Org/Notebooks', 'main');

test('opened, synchronize and reopened run the head; closed cancels; other actions are ignored', () => {
  for (const action of ['opened', 'synchronize', 'reopened']) {
    assert.deepEqual(decide({ action }), { run: { number: 12, head: HEAD, fork: false } });
  }
  assert.deepEqual(decide({ action: 'closed' }), { cancel: { number: 12 } });
  assert.deepEqual(decide({ action: 'labeled' }), { ignored: 'pull request action labeled' });
});

test("a fork's PR (or one whose fork is gone) is marked as such; other repositories and bases are ignored", () => {
  assert.deepEqual(decide({ headRepo: 'someone/notebooks' }), { run: { number: 12, head: HEAD, fork: true } });
  assert.deepEqual(decide({ headRepo: null }), { run: { number: 12, head: HEAD, fork: true } });
  assert.match((decide({ base: 'develop' }) as { ignored: string }).ignored, /into develop, not main/);
  assert.match((decide({ repo: 'other/repo' }) as { ignored: string }).ignored, /is not Org\/Notebooks/);
});

test('the payload is validated: a head that is not a full SHA is refused', () => {
  const bad = { ...payload(), pull_request: { ...payload().pull_request, head: { sha: 'abc', repo: null } } };
  assert.equal(pullRequestPayload.safeParse(bad).success, false);
});
